"""Errors of the durable engine: those user code sees, and the control flow it must not catch."""


class NonRetriableError(Exception):
    """Raise inside a step (or the function) to fail at once, without retries."""


class StepError(Exception):
    """A step failed for good (retries exhausted, or non-retriable); raised where it is called."""

    def __init__(self, step_key: str, message: str):
        super().__init__(f"step {step_key!r} failed: {message}")
        self.step_key = step_key
        self.message = message


class StepOutputTooLarge(NonRetriableError):
    pass


class Interrupt(BaseException):
    """Ends the current execution of a run. A BaseException, so `except Exception` in user code
    (a tool wrapper, say) lets it pass untouched."""


class Suspend(Interrupt):
    """The run's state is stored; it continues when its wait, sleep or retry delay is over."""


class LeaseLost(Interrupt):
    """Another worker owns the run now, or it was cancelled: stop without writing anything."""


class NonDeterminismError(Interrupt):
    """Replay reached steps in another order than the stored run: continuing would corrupt it.
    An Interrupt, so no tool wrapper can turn it into a result and carry on."""


class InfrastructureError(Interrupt):
    """The database or the queue failed inside the step API. The execution stops (its lease is
    released and the run is retried later); no function or tool code ever sees it as an error."""
