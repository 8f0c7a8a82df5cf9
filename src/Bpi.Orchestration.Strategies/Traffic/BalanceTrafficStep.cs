using System.Globalization;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Strategies.Traffic;

/// <summary>
/// Routes a component's traffic to several revisions in proportion to their ready instances, counted when the step runs
/// (so a revision whose instances failed gets none). Used between the batches of rolling updates and their rollbacks.
/// </summary>
/// <param name="ComponentId">The component.</param>
/// <param name="Revisions">The revisions to route to.</param>
public sealed record BalanceTrafficStep(string ComponentId, IReadOnlyList<int> Revisions) : RolloutStep
{
    /// <summary>The weights the plan expects if every instance is ready (for dry runs); the step computes the real ones.</summary>
    public IReadOnlyDictionary<int, int> Expected { get; init; } = new Dictionary<int, int>();

    /// <inheritdoc />
    public override string Kind => "balance-traffic";

    /// <inheritdoc />
    public override string Describe() => $"route {ComponentId} by ready instances: "
        + string.Join(", ", Revisions.Select(r => string.Create(CultureInfo.InvariantCulture, $"revision {r}") + (Expected.TryGetValue(r, out var w) ? string.Create(CultureInfo.InvariantCulture, $" ~{w}%") : "")));
}

/// <summary>Executes <see cref="BalanceTrafficStep"/>.</summary>
internal sealed class BalanceTrafficHandler : RolloutStepHandler<BalanceTrafficStep>
{
    protected override async ValueTask ExecuteAsync(BalanceTrafficStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var ready = new List<(int Revision, List<ServiceEndpoint> Endpoints, int Count)>();
        foreach (var revision in step.Revisions.Distinct())
        {
            var instances = await context.GetInstancesAsync(step.ComponentId, revision, cancellationToken).ConfigureAwait(false);
            var running = instances.Where(i => i.State == InstanceState.Running && i.Health != InstanceHealth.Unhealthy).ToList();
            ready.Add((revision, [.. running.Where(i => i.Endpoint is not null).Select(i => i.Endpoint!)], running.Count));
        }

        var total = ready.Sum(r => r.Count);
        if (total == 0)
        {
            context.ReportProgress($"{step.ComponentId}: no ready instance to route to; the route is left as it was");
            return;
        }

        var weights = Proportional(ready.Select(r => (r.Revision, r.Count)).ToList(), total);
        var router = context.Router;
        var component = context.GetComponent(step.ComponentId, step.Revisions[0]);
        if (router is null || component.Ports.Count == 0)
        {
            context.RecordTraffic(step.ComponentId, weights, approximated: weights.Count > 1);
            return;
        }

        var backends = ready.Where(r => weights.GetValueOrDefault(r.Revision) > 0 && r.Endpoints.Count > 0)
            .Select(r => new TrafficBackend(r.Revision, weights[r.Revision], r.Endpoints))
            .ToList();
        if (backends.Count == 0)
        {
            context.ReportProgress($"{step.ComponentId}: no ready instance has an endpoint; the route is left as it was");
            return;
        }

        // Revisions without endpoints lose their share to the others.
        var sum = backends.Sum(b => b.Weight);
        if (sum != 100)
        {
            var rescaled = Proportional(backends.Select(b => (b.Revision, b.Weight)).ToList(), sum);
            backends = [.. backends.Select(b => b with { Weight = rescaled[b.Revision] })];
            weights = rescaled;
        }

        await context.EnsureOwnedAsync(cancellationToken).ConfigureAwait(false);
        await router.ApplyAsync(new TrafficRoute(TrafficRoute.ForComponent(context.DeploymentId, step.ComponentId), backends), cancellationToken).ConfigureAwait(false);
        context.RecordTraffic(step.ComponentId, weights, approximated: false);
    }

    /// <summary>Weights (summing to 100) proportional to counts, by largest remainder; revisions with no count get none.</summary>
    internal static Dictionary<int, int> Proportional(List<(int Revision, int Count)> counts, int total)
    {
        var result = new Dictionary<int, int>();
        var remainders = new List<(int Revision, double Remainder)>();
        var assigned = 0;
        foreach (var (revision, count) in counts)
        {
            if (count <= 0)
            {
                continue;
            }

            var exact = 100.0 * count / total;
            var floor = (int)Math.Floor(exact);
            result[revision] = floor;
            assigned += floor;
            remainders.Add((revision, exact - floor));
        }

        foreach (var (revision, _) in remainders.OrderByDescending(r => r.Remainder).ThenByDescending(r => r.Revision).Take(100 - assigned))
        {
            result[revision]++;
        }

        return result;
    }
}
