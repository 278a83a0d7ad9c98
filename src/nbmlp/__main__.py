"""``python -m nbmlp``: train on the bundled digits data (8×8 images, 1,797 samples)."""
from ._demo import main

if __name__ == "__main__":
    main()
