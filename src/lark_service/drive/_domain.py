from ..domains import Domain

DOMAIN = Domain(
    "drive",
    async_client="lark_service.drive._async_client:AsyncDriveClient",
    sync_client="lark_service.drive._sync_client:DriveClient",
    summary="Drive: permissions and sharing, document media, files and folders.",
)
