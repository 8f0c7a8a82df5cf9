using System.Globalization;
using Docker.DotNet.Models;
using ContainerState = Docker.DotNet.Models.State;
using ContainerHealth = Docker.DotNet.Models.Health;
using Bpi.Orchestration.Components.Docker.Engine.Streams;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>Maps what the engine says about a container to a <see cref="WorkloadInstance"/>.</summary>
internal static class DockerInstanceMapper
{
    /// <summary>The instance, or <see langword="null"/> when the container lacks the SDK's labels.</summary>
    public static WorkloadInstance? ToInstance(ContainerInspectResponse container, string publishAddress)
    {
        ArgumentNullException.ThrowIfNull(container);
        var labels = container.Config?.Labels;
        if (labels is null
            || !labels.TryGetValue(WorkloadLabels.Deployment, out var deploymentId)
            || !labels.TryGetValue(WorkloadLabels.Component, out var componentId)
            || !labels.TryGetValue(WorkloadLabels.Revision, out var revisionText)
            || !int.TryParse(revisionText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var revision))
        {
            return null;
        }

        var state = container.State ?? new ContainerState();
        var (instanceState, health, message) = MapState(state);
        int? exitCode = instanceState is InstanceState.Exited or InstanceState.Failed ? (int)state.ExitCode : null;

        return new WorkloadInstance
        {
            InstanceId = (container.Name ?? container.ID).TrimStart('/'),
            DeploymentId = deploymentId,
            ComponentId = componentId,
            Revision = revision,
            OwnerId = labels.Label(WorkloadLabels.Owner),
            State = instanceState,
            Health = health,
            Endpoints = state.Running ? MapEndpoints(labels.Label(DockerNaming.PortsLabel), container.NetworkSettings, publishAddress) : [],
            StartedAt = ParseTime(state.StartedAt),
            ExitCode = exitCode,
            Message = message,
        };
    }

    internal static (InstanceState State, InstanceHealth Health, string? Message) MapState(ContainerState state)
    {
        var health = state.Health?.Status switch
        {
            "healthy" => InstanceHealth.Healthy,
            "unhealthy" => InstanceHealth.Unhealthy,
            _ => InstanceHealth.Unknown,
        };
        var healthMessage = health == InstanceHealth.Unhealthy
            ? string.Create(CultureInfo.InvariantCulture, $"HEALTHCHECK failing ({state.Health!.FailingStreak} in a row): {LastHealthOutput(state.Health)}")
            : null;

        switch (state.Status)
        {
            case "created":
                return !string.IsNullOrEmpty(state.Error) || state.ExitCode != 0
                    ? (InstanceState.Failed, health, string.IsNullOrEmpty(state.Error) ? ExitMessage(state) : state.Error)
                    : (InstanceState.Pending, health, "created, not started");
            case "running" when state.Restarting:
            case "restarting":
                return (InstanceState.Starting, health, string.Create(CultureInfo.InvariantCulture, $"restarting after exit code {state.ExitCode}"));
            case "running" when state.Paused:
            case "paused":
                return (InstanceState.Pending, health, "paused");
            case "running":
                return state.Health?.Status == "starting"
                    ? (InstanceState.Starting, health, "HEALTHCHECK starting")
                    : (InstanceState.Running, health, healthMessage);
            case "removing":
                return (InstanceState.Stopping, health, "being removed");
            case "exited":
                return state.ExitCode == 0 && !state.OOMKilled
                    ? (InstanceState.Exited, health, ExitMessage(state))
                    : (InstanceState.Failed, health, ExitMessage(state));
            case "dead":
                return (InstanceState.Failed, health, string.IsNullOrEmpty(state.Error) ? "dead" : state.Error);
            default:
                return (InstanceState.Pending, health, state.Status);
        }
    }

    internal static IReadOnlyList<ServiceEndpoint> MapEndpoints(string? portsLabel, NetworkSettings? network, string publishAddress)
    {
        var published = network?.Ports;
        if (published is null)
        {
            return [];
        }

        var endpoints = new List<ServiceEndpoint>();
        foreach (var (name, key) in DockerNaming.ParsePortsLabel(portsLabel))
        {
            if (!published.TryGetValue(key, out var bindings) || bindings is null)
            {
                continue;
            }

            var binding = bindings.FirstOrDefault(b => int.TryParse(b.HostPort, NumberStyles.None, CultureInfo.InvariantCulture, out _));
            if (binding is null)
            {
                continue;
            }

            var host = string.IsNullOrEmpty(binding.HostIP) || binding.HostIP is "0.0.0.0" or "::" ? publishAddress : binding.HostIP;
            endpoints.Add(new ServiceEndpoint(host, int.Parse(binding.HostPort!, CultureInfo.InvariantCulture), name));
        }

        return endpoints;
    }

    internal static DateTimeOffset? ParseTime(string? text) =>
        string.IsNullOrEmpty(text) || IsZeroTime(text) || !DockerLogLineReader.TryParseTimestamp(text, out var time) ? null : time;

    private static bool IsZeroTime(string text) => text.StartsWith("0001-01-01", StringComparison.Ordinal);

    private static string ExitMessage(ContainerState state)
    {
        var message = string.Create(CultureInfo.InvariantCulture, $"exited with code {state.ExitCode}");
        if (state.OOMKilled)
        {
            message += " (killed: out of memory)";
        }

        return string.IsNullOrEmpty(state.Error) ? message : message + ": " + state.Error;
    }

    private static string LastHealthOutput(ContainerHealth health)
    {
        var last = health.Log is { Count: > 0 } log ? log[^1] : null;
        return last is null
            ? "no output"
            : string.Create(CultureInfo.InvariantCulture, $"exit code {last.ExitCode}, {(last.Output ?? "").Trim()}");
    }
}
