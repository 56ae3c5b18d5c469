"""MkDocs hooks: the site is the repository's own documents, not copies kept by hand.

- ``on_files``: the README (as the home page), BENCHMARKS.md, RELIABILITY.md, CHANGELOG.md and
  deploy/README.md join the pages under ``docs/``, and the images they show become assets;
- ``on_page_markdown``: a link is resolved against the file it was written in, inside the
  repository; one to another page becomes a link between pages, one to a source file (a
  script, a preset, a result's JSON) becomes the file's path in code type. A link to nothing
  is left as it is, so ``mkdocs build --strict`` reports it. Every object an API page shows
  (``::: distrl.x.Name``) must have a docstring, and so must its public methods: the build
  fails naming the first that has none.
"""

from __future__ import annotations

import importlib
import inspect
import posixpath
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
PAGES = {  # repository path -> site path
    "README.md": "index.md",
    "BENCHMARKS.md": "benchmarks.md",
    "RELIABILITY.md": "reliability.md",
    "CHANGELOG.md": "changelog.md",
    "deploy/README.md": "deploy.md",
}
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
_sources: dict[str, str] = {}  # site path -> repository path


def on_files(files, config):
    for repo_path, site_path in PAGES.items():
        text = (ROOT / repo_path).read_text()
        files.append(File.generated(config, site_path, content=text))
        _sources[site_path] = repo_path
        for image in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", text):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(repo_path), image))
            if (ROOT / target).is_file():
                files.append(File.generated(config, f"assets/{target}", abs_src_path=str(ROOT / target)))
    return files


def _site_path(repo_path: str) -> str | None:
    if repo_path in PAGES:
        return PAGES[repo_path]
    if repo_path.startswith("docs/"):
        return repo_path[len("docs/") :]
    if repo_path.endswith(".png"):
        return f"assets/{repo_path}"
    return None


def _undocumented(dotted: str) -> list[str]:
    """``dotted`` and its public methods that have no docstring of their own."""
    module_name, _, name = dotted.rpartition(".")
    obj = getattr(importlib.import_module(module_name), name)
    missing = [] if inspect.getdoc(obj) else [dotted]
    if inspect.isclass(obj):
        for attr, member in vars(obj).items():
            public = not attr.startswith("_") and (inspect.isfunction(member)
                                                   or isinstance(member, property))
            if public and not (member.__doc__ or "").strip():
                missing.append(f"{dotted}.{attr}")
    return missing


def on_page_markdown(markdown, page, config, files):
    for dotted in re.findall(r"^::: ([\w.]+)", markdown, flags=re.M):
        if missing := _undocumented(dotted):
            raise PluginError(f"{page.file.src_uri}: no docstring: {', '.join(missing)}")
    site_path = page.file.src_uri
    repo_path = _sources.get(site_path, f"docs/{site_path}")
    here = posixpath.dirname(repo_path)

    def rewrite(match: re.Match) -> str:
        bang, text, target = match.groups()
        if re.match(r"^[a-z]+:|^#|^/", target):
            return match.group(0)  # a URL, an anchor on this page, or absolute
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(here, path))
        if path.endswith("/"):
            resolved += "/"
        site = _site_path(resolved.rstrip("/") + ("/index.md" if resolved.endswith("/") else ""))
        folder = ROOT / resolved
        if resolved.startswith("docs/") and folder.is_dir():  # a folder: its first page
            pages = sorted(folder.glob("*.md"))
            site = str(pages[0].relative_to(ROOT / "docs")) if pages else None
        if site is not None and (site in _sources or (ROOT / "docs" / site).exists()
                                 or site.startswith("assets/")):
            link = posixpath.relpath(site, posixpath.dirname(site_path) or ".")
            return f"{bang}[{text}]({link}{'#' + anchor if anchor else ''})"
        if (ROOT / resolved).exists():
            return f"{text} (`{resolved}`)" if text and text != resolved else f"`{resolved}`"
        return match.group(0)  # broken: strict mode reports it

    return LINK.sub(rewrite, markdown)
