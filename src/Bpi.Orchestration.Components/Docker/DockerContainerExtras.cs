using Bpi.Orchestration.Runtime;
using Docker.DotNet.Models;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>What a container gets beyond the revision's own settings: more network aliases on the deployment network, and more labels (never replacing the SDK's).</summary>
/// <param name="Aliases">DNS names the container answers to on the deployment network, besides the component id.</param>
/// <param name="Labels">Labels added to the container's.</param>
internal sealed record DockerContainerExtras(IReadOnlyList<string> Aliases, IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// Chooses the <see cref="DockerContainerExtras"/> of the containers a revision is about to create, knowing the revision's
/// containers that exist (running or not) — for example a stable per-member alias for the lowest free slot.
/// </summary>
/// <param name="revision">The revision being scaled up.</param>
/// <param name="existing">Its existing containers.</param>
/// <param name="newNames">The names of the containers about to be created.</param>
/// <returns>The extras by container name; a name left out gets none.</returns>
internal delegate IReadOnlyDictionary<string, DockerContainerExtras> DockerContainerExtrasSource(WorkloadRevision revision, IReadOnlyList<ContainerListResponse> existing, IReadOnlyList<string> newNames);
