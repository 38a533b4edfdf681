"""The service's two HTML pages for people: the form (form.py, form.html) and the monitoring page
(monitoring.py). Their routes are in app/api/routes/pages.py."""
