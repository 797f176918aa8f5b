"""The interactive API docs (/api/docs/): Swagger UI from drf-spectacular-sidecar, so it
works without internet, under the site's Content-Security-Policy (`script-src 'self'`,
`style-src 'self'`).

drf-spectacular's split view already serves the init script from a same-origin URL
(`?script`) instead of an inline <script>; its page template still carries an inline
<style> block, which the policy blocks, so this view renders a copy of the page without it.
"""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "partials/api_docs.html"
    title = "Call forwarding portal API"
