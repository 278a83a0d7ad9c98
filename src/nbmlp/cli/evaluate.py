"""``nbmlp evaluate MODEL.npz test.csv``: a saved model scored on rows it never saw, with the
report ``train`` prints for its validation rows (accuracy, confusion matrix and
``classification_report``; R², RMSE and MAE). ``train --test FILE`` prints the same report."""

from ..tabular import TEXT
from .arguments import add_command, add_csv_options
from .reading import feature_columns, load_model, read_test
from .scores import report


def add_parser(sub, common):
    p = add_command(
        sub,
        common,
        "evaluate",
        run,
        help="score a saved model on a labelled CSV file",
        description="Score a model saved by 'nbmlp train --out' on a CSV file that holds the model's "
        "feature columns and the target column: the report 'train' prints for its validation rows.",
        epilog="examples:\n  nbmlp evaluate model.npz test.csv --target species\n"
        "  nbmlp evaluate model.npz test.csv   (the target column: the one column the model does not read)\n",
    )
    p.add_argument("model", help="model file (.npz) from 'nbmlp train --out'")
    p.add_argument("data", help="CSV file with a header row, the model's feature columns and the target")
    p.add_argument("--target", help="name of the target column (default: the one column the model does not read)")
    add_csv_options(p)


def run(args):
    model, encoder = load_model(args.model)
    text = [c for c, k in zip(encoder.columns, encoder.kinds) if k == TEXT] if encoder is not None else []
    classify = hasattr(model, "classes_")
    columns = feature_columns(model, encoder)
    test = read_test(args.data, columns, text, classify, args.target, args.delimiter, args.quiet, args.decimal)
    print(report(model, encoder, test, "test"))
    return 0
