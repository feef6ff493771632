__version__ = "0.1.0"


def recheck(*args, **kwargs):
    """Decide again on what was collected: ``copyright_guard.rechecker.recheck`` (an iterator of
    results). Imported on first use, so ``import copyright_guard`` stays light."""
    from .rechecker import recheck as run

    return run(*args, **kwargs)
