using System.Globalization;
using Bpi.Orchestration.Threading;

namespace Bpi.Orchestration;

/// <summary>
/// Tracks the resources reserved by each deployment against the configured capacity. A reservation either fits
/// completely or nothing changes. Thread-safe.
/// </summary>
internal sealed class ResourceLedger(ResourceRequirements? capacity)
{
    private SpinLock _spin = LeafLock.Create(); // leaf sections only: see LeafLock
    private readonly Dictionary<string, ResourceRequirements> _reservations = new(StringComparer.Ordinal);
    private ResourceRequirements _allocated = ResourceRequirements.None;

    public ResourceRequirements? Capacity { get; } = capacity;

    public ResourceRequirements Allocated
    {
        get
        {
            using (LeafLock.Enter(ref _spin))
            {
                return _allocated;
            }
        }
    }

    public int Count
    {
        get
        {
            using (LeafLock.Enter(ref _spin))
            {
                return _reservations.Count;
            }
        }
    }

    public ResourceUtilization Utilization => new(Allocated, Capacity);

    /// <summary>Sets a deployment's reservation to <paramref name="amount"/> (replacing what it held) if the result fits.</summary>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InsufficientResources"/>; nothing changed.</exception>
    public void Reserve(string deploymentId, ResourceRequirements amount)
    {
        using (LeafLock.Enter(ref _spin))
        {
            var held = _reservations.GetValueOrDefault(deploymentId) ?? ResourceRequirements.None;
            if (held == amount && _reservations.ContainsKey(deploymentId))
            {
                // Reserving what is already held (a rollout that ends where it began) changes nothing.
                return;
            }

            // A first reservation holds nothing yet: one sum, not a difference and a sum.
            var after = ReferenceEquals(held, ResourceRequirements.None) ? _allocated + amount : _allocated - held + amount;
            if (Capacity is { } cap)
            {
                var problems = new List<string>();
                Check(problems, "CPU", after.CpuCores, cap.CpuCores, amount.CpuCores, "cores");
                Check(problems, "memory", after.MemoryMb, cap.MemoryMb, amount.MemoryMb, "MB");
                Check(problems, "storage", after.StorageGb, cap.StorageGb, amount.StorageGb, "GB");
                Check(problems, "network bandwidth", after.NetworkBandwidthMbps, cap.NetworkBandwidthMbps, amount.NetworkBandwidthMbps, "Mbps");
                if (problems.Count > 0)
                {
                    throw new OrchestrationException(
                        OrchestrationErrorKind.InsufficientResources,
                        $"Deployment '{deploymentId}' does not fit the remaining capacity; nothing was reserved. Free resources (destroy or scale down deployments), lower its requirements, or raise {nameof(OrchestrationOptions)}.{nameof(OrchestrationOptions.Capacity)}:"
                        + string.Concat(problems.Select(p => System.Environment.NewLine + "  - " + p)),
                        problems);
                }
            }

            _reservations[deploymentId] = amount;
            _allocated = after;
        }
    }

    public ResourceRequirements? GetReservation(string deploymentId)
    {
        using (LeafLock.Enter(ref _spin))
        {
            return _reservations.GetValueOrDefault(deploymentId);
        }
    }

    /// <summary>Releases a deployment's reservation. Idempotent.</summary>
    public void Release(string deploymentId)
    {
        using (LeafLock.Enter(ref _spin))
        {
            if (_reservations.Remove(deploymentId, out var held))
            {
                // An empty ledger is exactly empty (no floating-point residue of the differences).
                _allocated = _reservations.Count == 0 ? ResourceRequirements.None : _allocated - held;
            }
        }
    }

    private static void Check(List<string> problems, string what, double after, double capacity, double requested, string unit)
    {
        // A small tolerance keeps sums of fractional CPU from failing on rounding.
        if (after > capacity + 1e-9)
        {
            var free = capacity - (after - requested);
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{what}: requested {requested:0.###} {unit}, {Math.Max(0, free):0.###} {unit} free of {capacity:0.###} {unit}."));
        }
    }
}
