"""``threadpoolctl.threadpool_limits`` limits nbmlp's threads as it limits BLAS and OpenMP.

Registering the controller is the one thing here done at ``import nbmlp``: threadpoolctl looks
for controllers when its caller asks, with no hook through which nbmlp could register later.
"""

from ._threads import get_num_threads, set_limit
from ._version import __version__


def register():
    """Let ``threadpoolctl.threadpool_limits`` limit nbmlp's threads as it limits BLAS and OpenMP.

    threadpoolctl finds the thread pools of a process by the shared libraries loaded in it; the
    controller registered here is found through Numba's helper library (loaded with Numba, so
    before any parallel kernel ran) and sets the limit of ``_threads``.
    """
    try:
        import threadpoolctl

        add, base = threadpoolctl.register, threadpoolctl.LibController
    except (ImportError, AttributeError):  # threadpoolctl < 3.2: limits are not seen
        return False

    class NbmlpController(base):
        user_api = "nbmlp"
        internal_api = "nbmlp"
        filename_prefixes = ("_helperlib",)

        def get_num_threads(self):
            return get_num_threads()

        def set_num_threads(self, num_threads):
            set_limit(num_threads)

        def get_version(self):
            return __version__

    add(NbmlpController)
    return True
