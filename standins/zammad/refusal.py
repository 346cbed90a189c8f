"""What the stand-in answers when Zammad would refuse a request."""

from __future__ import annotations


class ZammadRefusal(ValueError):
    """A request Zammad would refuse; the control API raises it too (it is a ValueError).
    The body is what humanize_error in app/controllers/application_controller/handles_errors.rb
    renders: `error` and `error_human`, the same text for RecordNotFound (404) and
    UnprocessableEntity or RecordInvalid (422, its first full message)."""

    def __init__(self, status: int, error: str, human: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.human = human or error

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_human": self.human}


def not_found(model: str, record_id: object) -> ZammadRefusal:
    return ZammadRefusal(404, f"Couldn't find {model} with 'id'={record_id}")


def unprocessable(message: str) -> ZammadRefusal:
    return ZammadRefusal(422, message)
