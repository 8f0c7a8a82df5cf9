using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Security;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// <c>/audit/…</c>: verify the durable audit trail (CRCs, hash chain, Merkle root against the signed checkpoints) and
/// export it, anchored to a freshly signed checkpoint, as one file verifiable offline. Both are orchestrator-wide
/// reads: the authorizer decides on the <c>read</c> verb without a deployment, as for the deployment list.
/// </summary>
internal static class AuditEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var audit = api.MapGroup("/audit").WithTags("audit");

        audit.MapGet("/verify", async (HttpContext http) =>
        {
            await AuthorizeReadAsync(http).ConfigureAwait(false);
            var store = RequireStore(http);
            var result = await AuditVerifier.VerifyAsync(store, Verifier(http), http.RequestAborted).ConfigureAwait(false);
            if (!result.IsValid)
            {
                // Watchers of the orchestrator's events (alerts) hear of a failed verification, not only this caller.
                http.RequestServices.GetService<IOrchestrationVm>()?.ReportAuditVerificationFailed($"{result.Failure}: {result.Message}");
            }

            return ApiJson.Json(AuditVerifyView.From(result));
        })
        .WithName("VerifyAudit")
        .WithSummary("Verifies the audit trail: every entry's CRC, encoding, sequence and hash chain, and the Merkle root against every signed checkpoint.")
        .Produces<AuditVerifyView>()
        .ProducesProblem(StatusCodes.Status403Forbidden);

        audit.MapGet("/export", async (HttpContext http) =>
        {
            await AuthorizeReadAsync(http).ConfigureAwait(false);
            var store = RequireStore(http);
            // Written to memory first: a failure then still answers with problem details instead of a cut-off file.
            using var buffer = new MemoryStream();
            SignedCheckpoint checkpoint;
            try
            {
                checkpoint = await AuditExport.WriteAsync(store, buffer, http.RequestAborted).ConfigureAwait(false);
            }
            catch (AuditStoreException ex)
            {
                throw new ApiProblemException(StatusCodes.Status409Conflict, "The audit trail cannot be exported.", [ex.Message], OrchestrationErrorKind.Conflict);
            }

            http.Response.Headers["X-Audit-Tree-Size"] = checkpoint.TreeSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.File(buffer.ToArray(), "application/octet-stream", "audit-export.bin");
        })
        .WithName("ExportAudit")
        .WithSummary("The whole audit trail, anchored to a freshly signed checkpoint, as one file that AuditVerifier.VerifyExportAsync checks offline.")
        .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
        .ProducesProblem(StatusCodes.Status403Forbidden);
    }

    /// <summary>Asks the orchestrator's authorizer (the Security package's policy when registered) for an orchestrator-wide <c>read</c>.</summary>
    private static async Task AuthorizeReadAsync(HttpContext http)
    {
        var authorizer = http.RequestServices.GetService<IOrchestrationAuthorizer>();
        if (authorizer is null)
        {
            return;
        }

        var actor = OrchestrationActor.Current;
        var decision = await authorizer.AuthorizeAsync(new AuthorizationRequest(actor, OrchestrationVerbs.Read, null, null, null), http.RequestAborted).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            throw new OrchestrationException(OrchestrationErrorKind.Unauthorized, $"'{actor.Id}' may not read the audit trail: {decision.Reason} (rule {decision.Rule}). Ask an administrator for the read verb.");
        }
    }

    private static IAuditStore RequireStore(HttpContext http)
        => http.RequestServices.GetService<IAuditStore>() ?? throw new ApiProblemException(
            StatusCodes.Status501NotImplemented,
            "No audit store is configured.",
            ["audit: no durable audit store is registered; the host adds one with AddFileAuditStore(path), AddInMemoryAuditStore() or AddPostgreSqlState(connectionString)."],
            OrchestrationErrorKind.NotFound);

    /// <summary>
    /// The <see cref="CheckpointVerifier"/> the host registered (the keys it trusts: with shared state, the one key every
    /// instance signs the shared chain with); else the verifier keys of the file or in-memory store's own signers, when
    /// it has any (else signatures are not checked, and the result says so).
    /// </summary>
    private static CheckpointVerifier? Verifier(HttpContext http)
    {
        if (http.RequestServices.GetService<CheckpointVerifier>() is { } registered)
        {
            return registered;
        }

        AuditStoreOptions? options = http.RequestServices.GetService<IOptions<FileAuditStoreOptions>>()?.Value;
        if (options is null || options.CheckpointSigners.Count == 0)
        {
            options = http.RequestServices.GetService<IOptions<InMemoryAuditStoreOptions>>()?.Value;
        }

        return options is { CheckpointSigners.Count: > 0 }
            ? new CheckpointVerifier(options.CheckpointSigners.Select(s => s.VerifierKey), options.Origin)
            : null;
    }
}

/// <summary>The result of a verification, as the API answers it.</summary>
internal sealed record AuditVerifyView(bool Valid, long EntriesVerified, int CheckpointsVerified, bool SignaturesChecked, string RootHash, string Failure, long? FirstBadSequence, string Message)
{
    public static AuditVerifyView From(AuditVerificationResult result) => new(
        result.IsValid,
        result.EntriesVerified,
        result.CheckpointsVerified,
        result.SignaturesChecked,
        result.RootHash.ToString(),
        System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(result.Failure.ToString()),
        result.FirstBadSequence,
        result.Message);
}
