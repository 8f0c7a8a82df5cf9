using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace Bpi.Orchestration.AspNetCore.Tests.Api;

public sealed class SecurityAndAuditEndpointsTests
{
    [Fact]
    public async Task Scan_of_a_document_returns_an_assessment_id_that_reads_back_and_a_deployment_is_assessed_by_its_id()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();

        using var scan = await client.PostAsync("/api/v1/security/scan", Documents.Json(Documents.Simple()));
        Assert.Equal(HttpStatusCode.OK, scan.StatusCode);
        var view = await scan.ReadObjectAsync();
        var assessmentId = view["assessment_id"]!.GetValue<string>();
        Assert.InRange(view["score"]!.GetValue<double>(), 0, 10);
        var again = await client.GetFromJsonObjectAsync($"/api/v1/security/assessment/{assessmentId}");
        Assert.Equal(view["score"]!.GetValue<double>(), again["score"]!.GetValue<double>());

        var id = await client.DeployAsync(Documents.Simple());
        var assessed = await client.GetFromJsonObjectAsync($"/api/v1/security/assessment/{id}");
        Assert.Equal(id, assessed["deployment_id"]!.GetValue<string>());
        using var compliance = await client.GetAsync($"/api/v1/security/compliance/soc2?deployment_id={id}&format=markdown");
        Assert.Equal(HttpStatusCode.OK, compliance.StatusCode);
        Assert.Equal("text/markdown", compliance.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Audit_verify_reports_a_valid_trail_after_a_deploy_and_export_returns_the_file_while_a_stranger_gets_403()
    {
        await using var host = await ApiHost.StartAsync();
        using var client = host.Deployer();
        using var stranger = host.As("sam");
        await client.DeployAsync(Documents.Simple());

        var verify = await client.GetFromJsonObjectAsync("/api/v1/audit/verify");
        using var export = await client.GetAsync("/api/v1/audit/export");
        using var denied = await stranger.GetAsync("/api/v1/audit/verify");

        Assert.True(verify["valid"]!.GetValue<bool>(), verify.ToJsonString());
        Assert.True(verify["entries_verified"]!.GetValue<long>() > 0);
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.NotEmpty(await export.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
    }

    [Fact]
    public async Task A_failed_audit_verify_is_reported_to_the_vm_as_an_AuditVerificationFailed_event()
    {
        // Checkpoints are verified against a key that did not sign them: the verification fails.
        var stranger = Bpi.Orchestration.Audit.CheckpointSigner.Generate("not-the-signer").VerifierKey;
        await using var host = await ApiHost.StartAsync(b => b.Services.AddSingleton(new Bpi.Orchestration.Audit.CheckpointVerifier([stranger])));
        using var client = host.Deployer();
        await client.DeployAsync(Documents.Simple());
        await host.Services.GetRequiredService<Bpi.Orchestration.Audit.InMemoryAuditStore>().CreateCheckpointAsync();
        using var stop = new CancellationTokenSource();
        await using var events = host.Vm.WatchAsync(null, stop.Token).GetAsyncEnumerator(stop.Token);

        var verify = await client.GetFromJsonObjectAsync("/api/v1/audit/verify");

        Assert.False(verify["valid"]!.GetValue<bool>(), verify.ToJsonString());
        var reported = await Eventually.FirstAsync(events, e => e.Kind == DeploymentEventKind.AuditVerificationFailed);
        Assert.Equal("", reported.DeploymentId);
        Assert.Contains(verify["message"]!.GetValue<string>(), reported.Message, StringComparison.Ordinal);
        await stop.CancelAsync();
    }
}
