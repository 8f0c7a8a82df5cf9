using System.Net;
using System.Reflection;
using System.Text;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the orchestrator's dashboard: one page with no JavaScript build chain, served from the assembly.</summary>
public static class OrchestrationDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves the dashboard at <paramref name="path"/>: deployments and their state, the selected deployment's rollout
    /// progress and traffic weights per revision live from its server-sent events, promote/pause/resume/abort and
    /// approve/reject buttons, and the audit trail's verification status. The page is static (embedded in this assembly);
    /// everything it shows or does goes through the API mapped at <paramref name="apiPrefix"/> with the token the user
    /// gives it (sent as <c>Authorization: Bearer</c>), so it is authorized exactly like the API. A token can also be
    /// passed once in the address's fragment: <c>/dashboard/#token=…</c>.
    /// </summary>
    /// <param name="endpoints">The host's endpoints.</param>
    /// <param name="path">Where the page is served.</param>
    /// <param name="apiPrefix">Where <c>MapOrchestrationApi</c> mapped the API.</param>
    /// <returns>The dashboard's route group, for the host's own policies.</returns>
    public static RouteGroupBuilder MapOrchestrationDashboard(this IEndpointRouteBuilder endpoints, string path = "/dashboard", string apiPrefix = "/api/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentException.ThrowIfNullOrWhiteSpace(apiPrefix);
        var prefix = path.TrimEnd('/');
        var api = apiPrefix.TrimEnd('/');
        var group = endpoints.MapGroup(prefix).ExcludeFromDescription();
        group.MapGet("/", (HttpContext http) =>
        {
            if (http.Request.Path.Value?.EndsWith('/') != true)
            {
                // The page's relative links (dashboard.js, dashboard.css) need the trailing slash.
                return Results.Redirect($"{http.Request.PathBase}{prefix}/");
            }

            var html = DashboardFiles.Index.Replace("{{API_BASE}}", WebUtility.HtmlEncode($"{http.Request.PathBase}{api}"), StringComparison.Ordinal);
            return DashboardFiles.Serve(http, Encoding.UTF8.GetBytes(html), "text/html; charset=utf-8");
        });
        group.MapGet("/dashboard.js", (HttpContext http) => DashboardFiles.Serve(http, DashboardFiles.Script, "text/javascript; charset=utf-8"));
        group.MapGet("/dashboard.css", (HttpContext http) => DashboardFiles.Serve(http, DashboardFiles.Style, "text/css; charset=utf-8"));
        return group;
    }
}

/// <summary>The dashboard's files, read once from the assembly's embedded resources.</summary>
internal static class DashboardFiles
{
    private const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static readonly string Index = Encoding.UTF8.GetString(Read("index.html"));
    public static readonly byte[] Script = Read("dashboard.js");
    public static readonly byte[] Style = Read("dashboard.css");

    public static IResult Serve(HttpContext http, byte[] content, string contentType)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = Policy;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-cache";
        headers["Referrer-Policy"] = "no-referrer";
        return Results.Bytes(content, contentType);
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(DashboardFiles).Assembly.GetManifestResourceStream("Bpi.Orchestration.AspNetCore.Dashboard." + name)
            ?? throw new InvalidOperationException($"The dashboard file {name} is not embedded in {typeof(DashboardFiles).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
