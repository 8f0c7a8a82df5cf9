using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;

namespace Bpi.Orchestration.AspNetCore.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, headless, driven over the DevTools protocol): it shows a canary's
/// traffic weights change live from the event stream, its promote button promotes the rollout to Running, and a
/// viewer's click is refused by the same policy as the API. Screenshots are kept in the test output directory under
/// <c>artifacts/</c>.
/// </summary>
public sealed class DashboardBrowserTests
{
    private static string Artifacts => Path.Combine(AppContext.BaseDirectory, "artifacts");

    [SkippableFact]
    public async Task The_page_shows_the_canary_weights_change_live_and_promote_brings_it_to_Running()
    {
        var chromium = ChromiumTestEnvironment.RequireBrowser();
        await using var host = await DashboardHostAsync();
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Canary());
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Running, TestContext.Timeout);
        await using var browser = await HeadlessChromium.StartAsync(chromium);

        await browser.NavigateAsync(new Uri(host.Address, "/dashboard/#token=dana:deployer").ToString());

        // The only deployment is selected; revision 1 takes all the traffic; the audit trail verifies.
        await UntilAsync(browser, "#detail-state", "dataset.state", "running");
        await UntilAsync(browser, "#components tr[data-revision='1']", "dataset.weight", "100");
        await UntilAsync(browser, "#audit", "dataset.valid", "true");
        Assert.Equal(id, (await browser.EvaluateAsync("document.getElementById('detail-id').textContent"))!.GetValue<string>());

        // A new revision as a canary: the page follows it to 25 % (r1 75 %) while it waits at its pause step.
        using (var update = await client.PutAsync($"/api/v1/orchestration/deployment/{id}", Documents.Json(Documents.Canary(image: "registry.local/web:2.0"))))
        {
            Assert.Equal(HttpStatusCode.Accepted, update.StatusCode);
        }

        await UntilAsync(browser, "#components tr[data-revision='2']", "dataset.weight", "25");
        await UntilAsync(browser, "#components tr[data-revision='1']", "dataset.weight", "75");
        await UntilAsync(browser, "#detail-state", "dataset.state", "paused");
        await UntilAsync(browser, "#deployments tbody tr", "dataset.state", "paused"); // the list follows the stream of all deployments
        await browser.ScreenshotAsync(Path.Combine(Artifacts, "dashboard-canary-at-25.png"));

        await browser.ClickAsync("#promote");

        await UntilAsync(browser, "#detail-state", "dataset.state", "running");
        await UntilAsync(browser, "#components tr[data-revision='2']", "dataset.weight", "100");
        await UntilAsync(browser, "#deployments tbody tr", "dataset.state", "running");
        Assert.Equal(DeploymentState.Running, (await host.Vm.GetStatusAsync(id)).State);
        Assert.Equal(2, (await host.Vm.GetStatusAsync(id)).StableRevision);
        var screenshot = Path.Combine(Artifacts, "dashboard-canary-promoted.png");
        await browser.ScreenshotAsync(screenshot);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], (await File.ReadAllBytesAsync(screenshot))[..4]);
        Assert.DoesNotContain("exceptionDetails", browser.ConsoleOutput, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Approve_on_the_page_approves_the_gate_the_rollout_waits_at()
    {
        var chromium = ChromiumTestEnvironment.RequireBrowser();
        await using var host = await DashboardHostAsync();
        using var client = host.Deployer();
        var id = await DeployGatedAsync(host, client);
        await UpdateGatedAsync(client, id);
        await using var browser = await HeadlessChromium.StartAsync(chromium);
        await browser.NavigateAsync(new Uri(host.Address, "/dashboard/#token=erin:deployer").ToString());

        // The page names the gate the rollout waits at; the approver clicks Approve.
        await UntilAsync(browser, "#components tr[data-revision='2']", "dataset.weight", "40");
        await UntilAsync(browser, "#gate", "value", "release");

        // The step names the gate when it starts; the rollout is paused once it waits there (an approval a moment
        // earlier is refused: no gate waits for it yet).
        await UntilAsync(browser, "#detail-state", "dataset.state", "paused");
        await browser.ClickAsync("#approve");

        await UntilAsync(browser, "#detail-state", "dataset.state", "running");
        await UntilAsync(browser, "#components tr[data-revision='2']", "dataset.weight", "100");
        var status = await host.Vm.GetStatusAsync(id);
        Assert.Equal(DeploymentState.Running, status.State);
        Assert.Equal(2, status.StableRevision);
    }

    [SkippableFact]
    public async Task The_action_buttons_stay_where_they_are_while_the_page_updates_around_them()
    {
        // A button that moves between the moment a person aims at it and the click sends the click elsewhere: the audit
        // result widening the header did exactly that to a click on Approve (it hit nothing, and the rollout stayed at its gate).
        var chromium = ChromiumTestEnvironment.RequireBrowser();
        await using var host = await DashboardHostAsync();
        using var client = host.Deployer();
        var id = await DeployGatedAsync(host, client);
        await using var browser = await HeadlessChromium.StartAsync(chromium);
        await browser.NavigateAsync(new Uri(host.Address, "/dashboard/#token=erin:deployer").ToString());
        await UntilAsync(browser, "#detail-state", "dataset.state", "running");
        await UntilAsync(browser, "#audit", "dataset.valid", "true");
        var shown = await ButtonPositionsAsync(browser);

        // What the page writes on its own after it is shown: the audit result (short while it is checked, long once
        // verified), and a message (an answer or a stream error).
        Assert.Equal(shown, await ButtonPositionsAsync(browser, "document.getElementById('audit-status').textContent = 'not checked'"));
        Assert.Equal(shown, await ButtonPositionsAsync(browser, "document.getElementById('audit-status').textContent = 'verified (' + '1234567890 '.repeat(30) + 'entries)'"));
        Assert.Equal(shown, await ButtonPositionsAsync(browser, "document.getElementById('message').textContent = '409 Conflict: ' + 'a long refusal '.repeat(60)"));

        // A new revision: a second row per component, a long step text, another state.
        await UpdateGatedAsync(client, id);

        await UntilAsync(browser, "#components tr[data-revision='2']", "dataset.weight", "40");
        await UntilAsync(browser, "#detail-state", "dataset.state", "paused");
        Assert.Equal(shown, await ButtonPositionsAsync(browser));
    }

    [SkippableFact]
    public async Task A_viewers_click_is_refused_by_the_policy_like_the_API_and_changes_nothing()
    {
        var chromium = ChromiumTestEnvironment.RequireBrowser();
        await using var host = await ApiHost.StartAsync(map: app =>
        {
            app.MapOrchestrationApi();
            app.MapOrchestrationDashboard("/ops", "/api/v1");
        });
        using var client = host.Deployer();
        var id = await client.DeployAsync(Documents.Simple());
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Running, TestContext.Timeout);
        await using var browser = await HeadlessChromium.StartAsync(chromium);

        await browser.NavigateAsync(new Uri(host.Address, "/ops#token=victor:viewer").ToString());
        await UntilAsync(browser, "#detail-state", "dataset.state", "running");
        await browser.ClickAsync("#abort");

        var message = await Eventually.UntilAsync(
            async () => (await browser.EvaluateAsync("document.getElementById('message').textContent"))?.GetValue<string>() ?? "",
            m => m.Length > 0,
            "the page says what the API answered");
        Assert.StartsWith("403", message, StringComparison.Ordinal);
        Assert.Equal(DeploymentState.Running, (await host.Vm.GetStatusAsync(id)).State);
        await browser.ScreenshotAsync(Path.Combine(Artifacts, "dashboard-viewer-refused.png"));
    }

    [Fact]
    public async Task The_page_is_served_from_the_assembly_with_a_strict_content_security_policy_and_the_API_base()
    {
        await using var host = await ApiHost.StartAsync(map: app =>
        {
            app.MapOrchestrationApi("/ops-api");
            app.MapOrchestrationDashboard("/ops", "/ops-api");
        });
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.Address };

        using var redirect = await client.GetAsync("/ops");
        using var page = await client.GetAsync("/ops/");
        using var script = await client.GetAsync("/ops/dashboard.js");

        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/ops/", redirect.Headers.Location!.OriginalString);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("<meta name=\"bpi-api\" content=\"/ops-api\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        Assert.Contains("/orchestration/events", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>A host serving the API and the dashboard at their default paths.</summary>
    private static Task<ApiHost> DashboardHostAsync() => ApiHost.StartAsync(map: app =>
    {
        app.MapOrchestrationApi();
        app.MapOrchestrationDashboard();
    });

    /// <summary>Deploys revision 1 of <see cref="Gated"/> and waits until it runs (a first rollout passes no gate).</summary>
    private static async Task<string> DeployGatedAsync(ApiHost host, HttpClient client)
    {
        var id = await client.DeployAsync(Gated("registry.local/web:1.0"));
        await host.Vm.WaitForStateAsync(id, s => s == DeploymentState.Running, TestContext.Timeout);
        return id;
    }

    /// <summary>Updates to revision 2 of <see cref="Gated"/>: its rollout sets 40 % and waits at gate "release".</summary>
    private static async Task UpdateGatedAsync(HttpClient client, string id)
    {
        using var update = await client.PutAsync($"/api/v1/orchestration/deployment/{id}", Documents.Json(Gated("registry.local/web:2.0")));
        Assert.Equal(HttpStatusCode.Accepted, update.StatusCode);
    }

    /// <summary>A canary that waits at approval gate "release" after setting 40 %.</summary>
    private static JsonObject Gated(string image)
    {
        var document = Documents.Canary("gated", image);
        document["strategy"]!["steps"] = new JsonArray(
            new JsonObject { ["setWeight"] = 40 },
            new JsonObject { ["approval"] = new JsonObject { ["name"] = "release", ["timeout"] = "1h" } });
        return document;
    }

    /// <summary>Where every action button is on the screen, after running <paramref name="change"/> in the page when given.</summary>
    private static async Task<string> ButtonPositionsAsync(HeadlessChromium browser, string? change = null)
        => (await browser.EvaluateAsync(
            "(() => { " + (change is null ? "" : change + "; ") +
            "return [...document.querySelectorAll('#actions button')].map(b => { const r = b.getBoundingClientRect(); return `${b.id}@${Math.round(r.left)},${Math.round(r.top)}`; }).join(' '); })()"))!
            .GetValue<string>();

    /// <summary>Waits until the element's property (a path such as <c>dataset.weight</c>) has the value, showing the last one seen.</summary>
    private static Task<string?> UntilAsync(HeadlessChromium browser, string selector, string property, string expected)
        => Eventually.UntilAsync(
            async () => (await browser.EvaluateAsync($"document.querySelector({System.Text.Json.JsonSerializer.Serialize(selector)})?.{property.Replace(".", "?.", StringComparison.Ordinal)} ?? null"))?.GetValue<string>(),
            v => v == expected,
            $"{selector} {property} is {expected}",
            TimeSpan.FromSeconds(60));
}
