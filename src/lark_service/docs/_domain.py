from ..domains import Domain

DOMAIN = Domain(
    "docs",
    async_client="lark_service.docs._async_client:AsyncDocsClient",
    sync_client="lark_service.docs._sync_client:DocsClient",
    summary="Docx documents: create, read as blocks or Markdown, append, update, delete.",
)
