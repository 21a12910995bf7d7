"""``rnnlab serve``: language models over HTTP.

:mod:`.engine` steps every open stream of a model together (continuous batching),
:mod:`.requests` checks request bodies, :mod:`.app` is the Starlette application, and
``page.html`` the playground it serves at ``/``. Needs the extra ``rnnlab[serve]``.
"""
