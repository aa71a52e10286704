"""(placeholder: being written)"""

__all__: list[str] = []


def _attach() -> None:
    pass
