from ..domains import Domain

DOMAIN = Domain(
    "cards",
    async_client="lark_service.cards._async_client:AsyncCardsClient",
    sync_client="lark_service.cards._sync_client:CardsClient",
    summary="Card builders and delayed card updates.",
)
