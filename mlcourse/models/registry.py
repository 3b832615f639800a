"""The models ``mlcourse train`` offers, registered beside their definitions (as torchvision's
``register_model``): each architecture module decorates its builder with the variants it offers
for small images (3 x 32 x 32 CIFAR-10, 1 x 8 x 8 digits). Stacked decorators register from the
bottom up, so the plain name goes lowest."""

# name -> builder(num_classes, in_channels), in registration order
MODELS = {}


def register_model(name, **options):
    """Decorator: register ``build(num_classes=..., in_channels=..., **options)`` under ``name``.

    The decorated builder is returned unchanged, so one builder can carry several names, e.g.
    ``@register_model("vgg11_bn", small_input=True, batch_norm=True)``.
    """
    def register(build):
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")

        def builder(num_classes, in_channels):
            return build(num_classes=num_classes, in_channels=in_channels, **options)

        builder.__name__ = builder.__qualname__ = name
        builder.__doc__ = f"{build.__name__}({', '.join(f'{k}={v!r}' for k, v in options.items())})"
        MODELS[name] = builder
        return build
    return register


def build_model(name, num_classes, in_channels):
    """One of ``MODELS`` for small images: (N, in_channels, H, W) -> (N, num_classes)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](num_classes, in_channels)
