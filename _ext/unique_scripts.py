"""Sphinx 7.4 puts an inline script twice on every page when an extension registers it after the
HTML builder has started (sphinx-doc/sphinx#13402); sphinx-thebe's ``const THEBE_JS_URL`` then
fails with a SyntaxError in the browser. Keep the first of each identical script."""


def unique_scripts(app, pagename, templatename, context, doctree):
    scripts, seen, kept = context.get("script_files", []), set(), []
    for script in scripts:
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
