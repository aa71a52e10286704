"""What the algorithms share at run time: ``workspace`` (each thread's kept scratch buffers
within the workspace cap, the padded copy of x, column matrices) and ``pool`` (the threads
that run a call's batch parts and split matrix products)."""

from .workspace import (  # noqa: F401  (the algorithms' names for them)
    _state,
    add_bias,
    column_matrix,
    finite,
    get_workspace_limit,
    pad,
    padding_buffer,
    set_workspace_limit,
    shared_workspace,
    workspace,
    workspace_share,
)
