using Bpi.Orchestration.Components.Docker.DockLock;
using Docker.DotNet.Models;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>Builds the engine's create-container request for one instance of a revision.</summary>
internal static class DockerContainerRequestBuilder
{
    /// <summary>The request. It carries the component's secrets as environment values: never log it.</summary>
    public static CreateContainerParameters Build(
        WorkloadRevision revision,
        DockLockPolicy policy,
        DockerRuntimeOptions options,
        string containerName,
        string? user,
        string networkName,
        IReadOnlyList<Mount> mounts,
        DockerContainerExtras? extras = null)
    {
        var component = revision.Component;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in component.Environment)
        {
            environment[key] = value;
        }

        foreach (var (key, value) in component.Secrets)
        {
            environment[key] = value;
        }

        var portBindings = new Dictionary<string, IList<PortBinding>>(StringComparer.Ordinal);
        var exposed = new Dictionary<string, EmptyStruct>(StringComparer.Ordinal);
        foreach (var port in component.Ports)
        {
            var key = DockerNaming.PortKey(port);
            exposed[key] = default;

            // An empty host port lets the engine choose a free one; it is read back from inspect as the endpoint.
            portBindings[key] = [new PortBinding { HostIP = options.PublishAddress, HostPort = "" }];
        }

        var hostConfig = policy.ToHostConfig(component.Resources, options);
        hostConfig.PortBindings = portBindings.Count > 0 ? portBindings : null;
        hostConfig.NetworkMode = networkName;
        hostConfig.Mounts = mounts.Count > 0 ? [.. mounts] : null;
        hostConfig.Init = options.UseInit ? true : null;

        var labels = DockerNaming.ContainerLabels(revision, containerName, policy.Settings.Relaxations.Select(r => r.Setting).ToList());
        foreach (var (key, value) in extras?.Labels ?? new Dictionary<string, string>())
        {
            labels.TryAdd(key, value);
        }

        return new CreateContainerParameters
        {
            Name = containerName,
            Image = component.Image!,
            Entrypoint = component.Command is { } command ? [command.FileName] : null,

            // With an entry point set, the image's CMD is not appended, so an empty argument list means "no arguments".
            Cmd = component.Command is { } withArguments ? [.. withArguments.Arguments] : null,
            WorkingDir = component.Command?.WorkingDirectory!,
            Env = environment.Count > 0 ? environment.Select(e => e.Key + "=" + e.Value).ToList() : null,
            Labels = labels,
            User = user!,
            ExposedPorts = exposed.Count > 0 ? exposed : null,
            HostConfig = hostConfig,
            NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings>(StringComparer.Ordinal)
                {
                    [networkName] = new EndpointSettings { Aliases = [component.Id, .. extras?.Aliases ?? []] },
                },
            },
        };
    }
}
