using System.Text;
using System.Text.Json;
using Bpi.Orchestration.Security;
using Microsoft.AspNetCore.Http.Features;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// Server-sent events (<c>text/event-stream</c>) carrying the orchestrator's events, so a browser's EventSource or
/// <c>curl -N</c> follows a rollout. Each VM event is one SSE event named by its kind (<c>state_changed</c>,
/// <c>step_started</c>, <c>progress</c>, …) with its JSON as data and its sequence as id. The stream of one deployment
/// also sends, after each event, an event <c>status</c> with the deployment's status (state, progress, traffic weights
/// per revision), so a client needs no second request to show them. The stream of all deployments carries only the
/// events of deployments the caller may read.
/// </summary>
internal static class EventStreamEndpoints
{
    private static readonly byte[] Comment = Encoding.UTF8.GetBytes(": stream open\n\n");

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/orchestration/deployment/{id}/events", (string id, HttpContext http, IOrchestrationVm vm) => StreamAsync(http, vm, id))
            .WithTags("orchestration")
            .WithName("WatchDeployment")
            .WithSummary("Server-sent events of one deployment: every VM event, each followed by a 'status' event with the deployment's status.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/orchestration/events", (HttpContext http, IOrchestrationVm vm) => StreamAsync(http, vm, null))
            .WithTags("orchestration")
            .WithName("WatchDeployments")
            .WithSummary("Server-sent events of every deployment the caller may read.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream");
    }

    private static async Task<IResult> StreamAsync(HttpContext http, IOrchestrationVm vm, string? deploymentId)
    {
        var ct = http.RequestAborted;
        // Authorized before the stream opens, so a denial or an unknown id is still a problem-details answer.
        DeploymentStatus? status = null;
        if (deploymentId is not null)
        {
            status = await vm.GetStatusAsync(deploymentId, ct).ConfigureAwait(false);
        }
        else
        {
            _ = await vm.ListAsync(new DeploymentQuery { States = [DeploymentState.Destroyed] }, ct).ConfigureAwait(false);
        }

        // Subscribe before the first status is written, so nothing that happens in between is missed.
        var events = vm.WatchAsync(deploymentId, ct).GetAsyncEnumerator(ct);
        await using var disposeEvents = events.ConfigureAwait(false);
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.Body.WriteAsync(Comment, ct).ConfigureAwait(false);
        if (status is not null)
        {
            await WriteAsync(response, "status", null, status, ct).ConfigureAwait(false);
        }

        await response.Body.FlushAsync(ct).ConfigureAwait(false);
        var readable = new Dictionary<string, bool>(StringComparer.Ordinal);
        try
        {
            while (await events.MoveNextAsync().ConfigureAwait(false))
            {
                var e = events.Current;
                if (deploymentId is null && !await MayReadAsync(vm, readable, e.DeploymentId, ct).ConfigureAwait(false))
                {
                    continue;
                }

                await WriteAsync(response, JsonNamingPolicy.SnakeCaseLower.ConvertName(e.Kind.ToString()), e.Sequence, e, ct).ConfigureAwait(false);
                if (deploymentId is not null)
                {
                    try
                    {
                        await WriteAsync(response, "status", null, await vm.GetStatusAsync(deploymentId, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                    }
                    catch (OrchestrationException ex) when (ex.Kind == OrchestrationErrorKind.NotFound)
                    {
                        // Destroyed and forgotten: the events say so; nothing more to show.
                    }
                }

                await response.Body.FlushAsync(ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }

        return Results.Empty;
    }

    /// <summary>Whether the caller may read a deployment, asked once per deployment per stream.</summary>
    private static async Task<bool> MayReadAsync(IOrchestrationVm vm, Dictionary<string, bool> cache, string deploymentId, CancellationToken ct)
    {
        if (!cache.TryGetValue(deploymentId, out var allowed))
        {
            try
            {
                await vm.AuthorizeAsync([OrchestrationVerbs.Read], deploymentId, ct).ConfigureAwait(false);
                allowed = true;
            }
            catch (OrchestrationException ex) when (ex.Kind is OrchestrationErrorKind.Unauthorized or OrchestrationErrorKind.NotFound)
            {
                allowed = false;
            }

            cache[deploymentId] = allowed;
        }

        return allowed;
    }

    private static async Task WriteAsync<T>(HttpResponse response, string name, long? id, T data, CancellationToken ct)
    {
        var builder = new StringBuilder();
        if (id is { } sequence)
        {
            builder.Append("id: ").Append(sequence).Append('\n');
        }

        builder.Append("event: ").Append(name).Append('\n');
        builder.Append("data: ").Append(JsonSerializer.Serialize(data, ApiJson.Options)).Append("\n\n");
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(builder.ToString()), ct).ConfigureAwait(false);
    }
}
