using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.DockLock;
using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Benchmarks;

/// <summary>
/// The lower bound: the engine calls a v1 → v2 convergence cannot do without — create and start the new containers
/// (the same hardened create request the SDK sends), inspect until they run, stop and remove the old ones — issued by
/// a minimal loop on the same client, with the same parallelism and poll interval, and no bookkeeping.
/// </summary>
internal static class DirectLoop
{
    public static async Task<List<string>> StartAsync(DockerEngine client, DockerRuntimeOptions options, WorkloadRevision revision, string network)
    {
        var policy = DockLockPolicy.Resolve(revision.Component, options);
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, revision.Component.Replicas),
            new ParallelOptions { MaxDegreeOfParallelism = options.MaxParallelOperations },
            async (_, token) =>
            {
                var name = DockerNaming.NewContainerName(revision);
                var request = DockerContainerRequestBuilder.Build(revision, policy, options, name, options.NonRootUser, network, []);
                var created = await client.CreateContainerAsync(request, token);
                await client.StartContainerAsync(created.ID, token);
                ids.Add(created.ID);
            });
        return [.. ids];
    }

    public static async Task WaitRunningAsync(DockerEngine client, IReadOnlyList<string> ids)
    {
        while (true)
        {
            var states = await Task.WhenAll(ids.Select(id => client.InspectContainerAsync(id)));
            if (states.All(s => s.State?.Running == true))
            {
                return;
            }

            await Task.Delay(BenchmarkEngine.PollInterval);
        }
    }

    public static async Task RemoveAsync(DockerEngine client, DockerRuntimeOptions options, IReadOnlyList<string> ids)
    {
        await Parallel.ForEachAsync(
            ids,
            new ParallelOptions { MaxDegreeOfParallelism = options.MaxParallelOperations },
            async (id, token) =>
            {
                await client.StopContainerAsync(id, options.StopTimeout, token);
                await client.RemoveContainerAsync(id, force: true, removeVolumes: true, token);
            });
    }
}
