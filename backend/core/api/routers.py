"""The API's one router: every ViewSet of /api/v1/ is registered on it (core/urls.py).

Three things DRF's DefaultRouter lacks, all so the URLs and their names stay what they were
when each app had its own router:

- sections: a URL prefix with an instance namespace (`integrations-external/`,
  `integrations_external:`) whose resources are listed both by the API root and by the
  section's own root view;
- singletons: a ViewSet with `singleton = True` is one object per caller (the caller's email
  settings): GET/PUT/PATCH on `{prefix}/`, named `{basename}-settings`, no list and no id;
- extensions: another app may add actions to an existing resource by registering a second
  ViewSet with the same prefix and basename (a story's GitHub actions on `user-stories/`:
  the core apps never import the integrations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, include, path
from rest_framework.routers import APIRootView, DefaultRouter, Route, SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns
from rest_framework.viewsets import ViewSetMixin

SINGLETON_ROUTE = Route(
    url=r"^{prefix}{trailing_slash}$",
    mapping={"get": "retrieve", "put": "update", "patch": "partial_update"},
    name="{basename}-settings",
    detail=False,
    initkwargs={"suffix": "Instance"},
)


@dataclass
class Section:
    """A URL prefix of the API whose routes live in their own instance namespace."""

    prefix: str  # "integrations-external/"
    namespace: str  # "integrations_external"
    extra_urls: list[URLPattern | URLResolver] = field(default_factory=list)  # non-API pages


class APIRouter(DefaultRouter):
    def __init__(self, sections: list[Section] | None = None) -> None:
        super().__init__()
        self.sections = {s.namespace: s for s in sections or []}
        self._section_of: dict[int, str] = {}  # registry index -> section namespace

    def register(  # type: ignore[override]
        self,
        prefix: str,
        viewset: type[ViewSetMixin],
        basename: str,
        *,
        section: str | None = None,
    ) -> None:
        if section is not None:
            prefix = self.sections[section].prefix + prefix
        extends = any(p == prefix and b == basename for p, _v, b in self.registry)
        if extends:  # more actions on a resource another app registered
            self.registry.append((prefix, viewset, basename))
        else:
            super().register(prefix, viewset, basename)
        if section is not None:
            self._section_of[len(self.registry) - 1] = section

    def get_routes(self, viewset: Any) -> list[Any]:
        routes = super().get_routes(viewset)
        if not getattr(viewset, "singleton", False):
            return routes
        # The list and detail routes make no sense for one object per caller: one route instead.
        kept = [r for r in routes if r.name not in ("{basename}-list", "{basename}-detail")]
        return [SINGLETON_ROUTE, *kept]

    def _urls_of(self, entries: list[tuple[str, Any, str]]) -> list[Any]:
        registry, self.registry = self.registry, entries
        try:
            return SimpleRouter.get_urls(self)
        finally:
            self.registry = registry

    def _root_name(self, viewset: Any, basename: str) -> str | None:
        """The route a root view links to for a resource, or None for a pure extension."""
        if getattr(viewset, "singleton", False):
            return SINGLETON_ROUTE.name.format(basename=basename)
        if hasattr(viewset, "list"):
            return self.routes[0].name.format(basename=basename)
        return None

    def get_urls(self) -> list[Any]:
        plain: list[tuple[str, Any, str]] = []
        grouped: dict[str, list[tuple[str, Any, str]]] = {ns: [] for ns in self.sections}
        root: dict[str, str] = {}
        section_roots: dict[str, dict[str, str]] = {ns: {} for ns in self.sections}
        for index, (prefix, viewset, basename) in enumerate(self.registry):
            namespace = self._section_of.get(index)
            (grouped[namespace] if namespace else plain).append((prefix, viewset, basename))
            name = self._root_name(viewset, basename)
            if name is None:
                continue
            if namespace:
                root[prefix] = f"{namespace}:{name}"
                section_roots[namespace][prefix.removeprefix(self.sections[namespace].prefix)] = (
                    name  # APIRootView adds the namespace it is reached through
                )
            else:
                root[prefix] = name

        urls: list[Any] = [
            path("", self.APIRootView.as_view(api_root_dict=root), name=self.root_view_name),
            *self._urls_of(plain),
        ]
        urls = format_suffix_patterns(urls)
        for namespace, section in self.sections.items():
            root_view = APIRootView.as_view(api_root_dict=section_roots[namespace])
            section_urls = format_suffix_patterns(
                [
                    path(section.prefix, root_view, name=self.root_view_name),
                    *self._urls_of(grouped[namespace]),
                ]
            )
            if section.extra_urls:  # plain Django pages take no `format`: no suffixes
                section_urls.append(path(section.prefix, include(section.extra_urls)))
            urls.append(path("", include((section_urls, namespace))))
        return urls
