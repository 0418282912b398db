"""Errors a user can cause. The CLI prints them as one line, without a traceback."""


class RenovoError(Exception):
    """Base class for errors caused by input or configuration, not by a bug."""


def yaml_error_message(path, error) -> str:
    """One line for a YAML syntax error in the file ``path``: ``PATH:LINE:COLUMN: not valid YAML: problem``.

    PyYAML's own message names ``<unicode string>`` when given text, and runs over several lines.
    """
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    context = getattr(error, "context", None)
    return f"{where}: not valid YAML: {problem}" + (f" ({' '.join(str(context).split())})" if context else "")
