"""Gateway operations of ``client.docs``: create, read (blocks, text, Markdown), append
Markdown. Markdown through the gateway may link images by http(s) URL only: a local path
would make the server read its own disk."""

from __future__ import annotations

from pydantic import Field, field_validator

from ..gateway import GatewayBody, GatewayQuery, examples, expose

__all__ = ["OPERATIONS"]


def _remote_images_only(markdown: str) -> str:
    from .markdown import _parser

    for token in _parser().parse(markdown):
        for child in token.children or ():
            if child.type == "image":
                src = str(child.attrGet("src") or "")
                if not src.startswith(("http://", "https://")):
                    raise ValueError(
                        f"image {src!r}: only http(s) image URLs are accepted through the gateway"
                    )
    return markdown


class CreateDocumentBody(GatewayBody):
    model_config = examples({"title": "Weekly report", "content": "# Summary\n\nAll green."})

    title: str | None = Field(default=None, max_length=800)
    folder_token: str | None = Field(default=None, min_length=1, max_length=128)
    content: str | None = Field(default=None, max_length=1_000_000, description="Markdown.")

    @field_validator("content")
    @classmethod
    def _images(cls, value: str | None) -> str | None:
        return None if value is None else _remote_images_only(value)


class AppendMarkdownBody(GatewayBody):
    model_config = examples({"markdown": "## Update\n\n- shipped v2.3"})

    markdown: str = Field(min_length=1, max_length=1_000_000)
    parent_block_id: str | None = Field(default=None, min_length=1, max_length=128)
    index: int | None = Field(default=None, ge=-1)

    @field_validator("markdown")
    @classmethod
    def _images(cls, value: str) -> str:
        return _remote_images_only(value)


class RawContentQuery(GatewayQuery):
    lang: int = Field(default=0, ge=0, le=2, description="0 Chinese, 1 English, 2 Japanese.")


_READ = ["docs:read"]
_WRITE = ["docs:write"]

OPERATIONS = [
    expose("POST", "/docs", "create_document", scopes=_WRITE, body=CreateDocumentBody,
           summary="Create a document (optionally from Markdown)"),
    expose("GET", "/docs/{document_id}", "get_document", scopes=_READ,
           summary="A document's title and revision"),
    expose("GET", "/docs/{document_id}/blocks", "get_document_content", scopes=_READ,
           summary="Every block of a document"),
    expose("GET", "/docs/{document_id}/raw", "get_raw_content", scopes=_READ,
           query=RawContentQuery, summary="A document as plain text"),
    expose("GET", "/docs/{document_id}/markdown", "to_markdown", scopes=_READ,
           summary="A document as Markdown"),
    expose("POST", "/docs/{document_id}/markdown", "append_markdown", scopes=_WRITE,
           body=AppendMarkdownBody, summary="Append Markdown as blocks"),
]  # fmt: skip
