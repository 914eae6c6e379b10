"""``images list|status|create-repo``: the project's container registry."""

from __future__ import annotations

from ._context import Context
from ._errors import EXIT_OK

__all__ = ["create_repo", "list_images", "status"]


async def list_images(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        images = await client.images.list(ctx.args.project)
    if out.json:
        out.emit_json(images)
        return EXIT_OK
    if images.container_registry:
        out.line(f"registry: {images.container_registry}")
    out.table(["IMAGE"], ((name,) for name in images.images or []), empty="no images")
    return EXIT_OK


async def status(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        image = await client.images.status(ctx.args.project, ctx.args.image)
    if out.json:
        out.emit_json({"image": ctx.args.image, **image.model_dump(mode="json")})
    else:
        out.line(f"{ctx.args.image}: {image.status or 'unknown'}")
    return EXIT_OK


async def create_repo(ctx: Context) -> int:
    out = ctx.output
    async with ctx.client() as client:
        repository = await client.images.create_repo(ctx.args.project, ctx.args.name)
    if out.json:
        out.emit_json(repository)
    else:
        out.details(repository)
    return EXIT_OK
