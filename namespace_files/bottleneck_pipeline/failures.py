"""Failure taxonomy: what went wrong decides the exit status and whether a retry can help.

It owns the whole classification, the OS errors' errno included, and imports nothing of the
package, so that every module (storage first) can raise its failures. Named ``failures`` rather
than ``exceptions``: the ``kestra`` wheel installs a top-level module called ``exceptions``.
"""

from __future__ import annotations

import errno

# Exit statuses, documented in the README ("When something fails") and matched by the Kestra
# retry policy: only INFRASTRUCTURE is worth retrying.
EXIT_OK = 0
EXIT_BUG = 1  # anything unexpected: a defect in our code
EXIT_USAGE = 2  # bad command line (argparse's own status)
EXIT_DATA = 3  # input contract or quality gate rejected the data: fix the files, never retry
EXIT_INFRA = 4  # storage, DuckDB, unreachable location: transient, retry


class PipelineError(Exception):
    """Base of every failure the pipeline knows how to explain."""

    exit_status = EXIT_BUG
    kind = "bug"

    def __init__(self, message: str, *, stage: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.stage = stage
        self.hint = hint


class DataRejected(PipelineError):
    """The data is wrong (contract or gate). Retrying cannot help; a person must fix the input."""

    exit_status = EXIT_DATA
    kind = "data"

    def __init__(self, message: str, *, stage: str | None = None, hint: str | None = None, results: list | None = None):
        super().__init__(message, stage=stage, hint=hint)
        self.results = results or []


class InfrastructureFailure(PipelineError):
    """A dependency is unavailable (disk, lock, location). Often transient: worth a retry."""

    exit_status = EXIT_INFRA
    kind = "infrastructure"


class UsageError(PipelineError):
    """A wrong argument (period format, threshold...)."""

    exit_status = EXIT_USAGE
    kind = "usage"


# errno values that mean "the storage is unavailable", not "the data is wrong": retried.
INFRA_ERRNOS = {
    errno.ENOSPC,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EIO,
    errno.EDQUOT,
    errno.ENOTCONN,
    errno.ETIMEDOUT,
    errno.ESTALE,
    errno.EAGAIN,
    errno.EBUSY,
}


def is_infrastructure_oserror(err: OSError) -> bool:
    return err.errno in INFRA_ERRNOS


def _underlying_oserror(err: BaseException) -> OSError | None:
    """The OSError behind a library's own exception (XlsxWriter wraps a full disk in
    FileCreateError, for instance)."""
    for candidate in (err, err.__cause__, err.__context__, *getattr(err, "args", ())):
        if isinstance(candidate, OSError):
            return candidate
    return None


def as_pipeline_error(err: BaseException, stage: str | None = None) -> PipelineError:
    """Sort any exception into the taxonomy: known failures keep their kind; storage and DuckDB
    I/O errors are infrastructure; everything else is a bug."""
    import duckdb  # local: keep this module importable without the data stack

    if isinstance(err, PipelineError):
        if err.stage is None:
            err.stage = stage
        return err
    err = _underlying_oserror(err) or err
    if isinstance(err, OSError) and is_infrastructure_oserror(err):
        return InfrastructureFailure(
            f"{err.strerror or err} ({err.filename or 'fichier inconnu'})",
            stage=stage,
            hint="Vérifiez l'espace disque et les droits du dossier, puis relancez : l'erreur est souvent passagère.",
        )
    if isinstance(err, (duckdb.IOException, duckdb.ConnectionException, duckdb.OutOfMemoryException)):
        return InfrastructureFailure(
            f"DuckDB indisponible : {err}",
            stage=stage,
            hint="Réessayez ; si l'erreur persiste, vérifiez la mémoire et le disque du worker.",
        )
    bug = PipelineError(
        f"{type(err).__name__}: {err}",
        stage=stage,
        hint="Erreur inattendue : relancez avec --debug et transmettez la trace à l'équipe data.",
    )
    return bug
