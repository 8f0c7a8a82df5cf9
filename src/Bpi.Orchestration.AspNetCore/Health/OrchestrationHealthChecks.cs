using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bpi.Orchestration.AspNetCore;

/// <summary>
/// <c>orchestration</c>: the VM's own state (running, deployments, rollouts, instances, utilization) and the state of each
/// circuit breaker (runtime, router, metric providers): Degraded while one is open, since calls to that target fail fast.
/// Reads act as <see cref="OrchestrationActor.System"/>: under the Security package, allow <c>role:system</c> the <c>read</c> verb.
/// </summary>
internal sealed class OrchestrationHealthCheck(IOrchestrationVm vm) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var scope = OrchestrationActor.BeginScope(OrchestrationActor.System);
        try
        {
            var state = await vm.GetStateAsync(cancellationToken).ConfigureAwait(false);
            var data = new Dictionary<string, object>
            {
                ["vm_id"] = state.VmId,
                ["vm_status"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(state.Status.ToString()),
                ["active_deployments"] = state.ActiveDeployments,
                ["rollouts_in_progress"] = state.RolloutsInProgress,
                ["managed_instances"] = state.ManagedInstances,
                ["cpu_utilization"] = state.Utilization.Cpu ?? 0,
                ["memory_utilization"] = state.Utilization.Memory ?? 0,
            };
            if (state.AverageSecurityScore is { } score)
            {
                data["average_security_score"] = score;
            }

            data["circuit_breakers"] = state.CircuitBreakers
                .Select(b => new Dictionary<string, object?>
                {
                    ["target"] = b.Target,
                    ["state"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(b.State.ToString()),
                    ["changed_at"] = b.ChangedAt,
                    ["times_opened"] = b.TimesOpened,
                    ["last_failure"] = b.LastFailure,
                })
                .ToList();
            var open = state.CircuitBreakers.Where(b => b.State != Resilience.CircuitBreakerState.Closed).Select(b => b.Target).ToList();
            if (state.Status != VmStatus.Running)
            {
                return HealthCheckResult.Unhealthy($"The orchestrator is {state.Status}.", data: data);
            }

            return open.Count == 0
                ? HealthCheckResult.Healthy("The orchestrator accepts work.", data)
                : HealthCheckResult.Degraded($"The circuit breaker of {string.Join(", ", open)} is open: calls to it fail fast until a trial call succeeds.", data: data);
        }
        catch (OrchestrationException ex)
        {
            return HealthCheckResult.Unhealthy($"The orchestrator's state could not be read ({ex.Kind}).");
        }
    }
}

/// <summary><c>containers</c>: instances of every live deployment on the runtime, how many run, and the deployments with fewer running than desired.</summary>
internal sealed class ContainersHealthCheck(IOrchestrationVm vm) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var scope = OrchestrationActor.BeginScope(OrchestrationActor.System);
        try
        {
            var list = await vm.ListAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var total = 0;
            var running = 0;
            var degraded = new List<string>();
            foreach (var listed in list.Deployments)
            {
                // The list's entries carry no instance counts; the status of each deployment does.
                var d = await vm.GetStatusAsync(listed.Id, cancellationToken).ConfigureAwait(false);
                foreach (var c in d.Components)
                {
                    var t = c.Instances.Sum(i => i.Total);
                    var r = c.Instances.Sum(i => i.Running);
                    total += t;
                    running += r;
                    if (d.State is DeploymentState.Running && r < c.DesiredReplicas)
                    {
                        degraded.Add($"{d.Id}/{c.Id}");
                    }
                }
            }

            var data = new Dictionary<string, object>
            {
                ["total_containers"] = total,
                ["running_containers"] = running,
                ["unhealthy_containers"] = total - running,
                ["degraded_components"] = degraded,
            };
            return degraded.Count == 0
                ? HealthCheckResult.Healthy($"{running} of {total} instances run.", data)
                : HealthCheckResult.Degraded($"{degraded.Count} component(s) run fewer instances than desired.", data: data);
        }
        catch (OrchestrationException ex)
        {
            return HealthCheckResult.Unhealthy($"The deployments could not be read ({ex.Kind}).");
        }
    }
}

/// <summary>Writes a health report as the seed's JSON: status, description, and the check's fields in snake_case.</summary>
internal static class HealthJson
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var body = new Dictionary<string, object?>
        {
            ["status"] = report.Status.ToString().ToLowerInvariant(),
            ["checked_in_ms"] = report.TotalDuration.TotalMilliseconds,
        };
        foreach (var (_, entry) in report.Entries)
        {
            body["description"] = entry.Description;
            foreach (var (key, value) in entry.Data)
            {
                body[key] = value;
            }
        }

        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, ApiJson.Options), context.RequestAborted);
    }

    public static HealthCheckOptions For(string tag) => new()
    {
        Predicate = r => r.Tags.Contains(tag),
        ResponseWriter = WriteAsync,
    };
}
