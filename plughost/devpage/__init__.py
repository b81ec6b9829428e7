"""The live page at ``/_plughost/``: plugins, reloads and errors, in the browser.

``routes`` adds the page, its event stream and its static files to a host;
``events`` turns the host's status changes into a reload history and
server-sent events; ``page`` renders the HTML from the status endpoint's data.
The CSS and JavaScript in ``static/`` ship as they are: no build step.
"""
