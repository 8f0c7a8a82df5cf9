using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Queries;

/// <summary>Counts a component's instances per revision for status: a handful of revisions, counted on the stack without LINQ.</summary>
internal static class RevisionCounter
{
    /// <summary>A component's instances counted per revision, ascending.</summary>
    public static RevisionInstances[] Count(IReadOnlyList<WorkloadInstance> instances, string componentId)
    {
        Span<(int Revision, int Total, int Running)> counts = stackalloc (int, int, int)[4];
        var n = 0;
        List<(int Revision, int Total, int Running)>? more = null;
        for (var index = 0; index < instances.Count; index++)
        {
            var instance = instances[index];
            if (!string.Equals(instance.ComponentId, componentId, StringComparison.Ordinal))
            {
                continue;
            }

            var running = instance.State == InstanceState.Running && instance.Health != InstanceHealth.Unhealthy ? 1 : 0;
            var at = 0;
            while (at < n && counts[at].Revision != instance.Revision)
            {
                at++;
            }

            if (at < n)
            {
                counts[at] = (counts[at].Revision, counts[at].Total + 1, counts[at].Running + running);
            }
            else if (n < counts.Length)
            {
                counts[n++] = (instance.Revision, 1, running);
            }
            else
            {
                // More than four revisions of one component at once: rare enough for the general path.
                more ??= [];
                var i = 0;
                while (i < more.Count && more[i].Revision != instance.Revision)
                {
                    i++;
                }

                if (i == more.Count)
                {
                    more.Add((instance.Revision, 1, running));
                }
                else
                {
                    more[i] = (more[i].Revision, more[i].Total + 1, more[i].Running + running);
                }
            }
        }

        // An array of exactly the revisions found (status keeps it): no list around it.
        var result = n == 0 && more is null ? [] : new RevisionInstances[n + (more?.Count ?? 0)];
        for (var i = 0; i < n; i++)
        {
            result[i] = new RevisionInstances(counts[i].Revision, counts[i].Total, counts[i].Running);
        }

        for (var i = 0; i < (more?.Count ?? 0); i++)
        {
            result[n + i] = new RevisionInstances(more![i].Revision, more[i].Total, more[i].Running);
        }

        if (result.Length > 1)
        {
            Array.Sort(result, static (a, b) => a.Revision.CompareTo(b.Revision));
        }

        return result;
    }
}
