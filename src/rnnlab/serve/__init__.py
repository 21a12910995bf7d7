"""``rnnlab serve``: language models over HTTP.

:mod:`.engine` steps the open streams of a model together (continuous batching, an engine per core under load),
:mod:`.requests` checks request bodies, :mod:`.app` is the Starlette application, and
``page.html`` the playground it serves at ``/``. Needs the extra ``rnnlab[serve]``.
"""
