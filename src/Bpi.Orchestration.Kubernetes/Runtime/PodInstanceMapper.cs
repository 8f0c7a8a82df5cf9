using System.Globalization;
using Bpi.Orchestration.Runtime;
using k8s.Models;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>
/// A pod as a <see cref="WorkloadInstance"/>: ready pods run (healthy), pods whose containers are waiting for a reason
/// that does not pass by itself — crash loops, image pull errors, bad configuration — and unschedulable pods have
/// failed, with the pod's reason and message; anything else is still starting.
/// </summary>
internal static class PodInstanceMapper
{
    private static readonly HashSet<string> FailedWaitingReasons = new(StringComparer.Ordinal)
    {
        "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull",
        "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
    };

    public static WorkloadInstance Map(V1Pod pod, V1Deployment? owner)
    {
        var annotations = pod.Metadata.Annotations ?? new Dictionary<string, string>();
        var labels = pod.Metadata.Labels ?? new Dictionary<string, string>();
        string Id(string key) => annotations.TryGetValue(key, out var full) ? full : labels.TryGetValue(key, out var label) ? label : "";

        var (state, health, message, exitCode) = StateOf(pod, owner);
        var endpoints = new List<ServiceEndpoint>();
        if (pod.Status?.PodIP is { Length: > 0 } ip)
        {
            foreach (var port in pod.Spec?.Containers?.FirstOrDefault()?.Ports ?? [])
            {
                endpoints.Add(new ServiceEndpoint(ip, port.ContainerPort, port.Name ?? "http"));
            }
        }

        return new WorkloadInstance
        {
            InstanceId = pod.Metadata.Name,
            DeploymentId = Id(WorkloadLabels.Deployment),
            ComponentId = Id(WorkloadLabels.Component),
            Revision = int.TryParse(Id(WorkloadLabels.Revision), NumberStyles.None, CultureInfo.InvariantCulture, out var revision) ? revision : 0,
            OwnerId = annotations.TryGetValue(WorkloadLabels.Owner, out var owner1) ? owner1 : KubernetesNaming.Value(labels, WorkloadLabels.Owner),
            State = state,
            Health = health,
            Endpoints = endpoints,
            StartedAt = pod.Status?.StartTime is { } started ? new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc)) : null,
            ExitCode = exitCode,
            Message = message,
        };
    }

    private static (InstanceState, InstanceHealth, string?, int?) StateOf(V1Pod pod, V1Deployment? owner)
    {
        if (pod.Metadata.DeletionTimestamp is not null)
        {
            return (InstanceState.Stopping, InstanceHealth.Unknown, "being deleted", null);
        }

        var status = pod.Status;
        switch (status?.Phase)
        {
            case "Succeeded":
                return (InstanceState.Exited, InstanceHealth.Unknown, "the pod's containers exited", 0);
            case "Failed":
                return (InstanceState.Failed, InstanceHealth.Unknown, $"pod failed: {status.Reason} {status.Message}".TrimEnd(), null);
        }

        if (status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable") is { } unschedulable)
        {
            return (InstanceState.Failed, InstanceHealth.Unknown, $"Unschedulable: {unschedulable.Message}", null);
        }

        foreach (var container in status?.ContainerStatuses ?? [])
        {
            if (container.State?.Waiting is { Reason: { } reason } waiting && FailedWaitingReasons.Contains(reason))
            {
                var exit = container.LastState?.Terminated?.ExitCode;
                return (InstanceState.Failed, InstanceHealth.Unhealthy, $"{reason}: {waiting.Message}" + (container.RestartCount > 0 ? string.Create(CultureInfo.InvariantCulture, $" (restarted {container.RestartCount} times)") : ""), exit);
            }
        }

        var ready = status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

        // kubectl rollout status semantics: a pod counts only once its Deployment's controller has observed the current spec.
        var observed = owner is null || (owner.Status?.ObservedGeneration ?? 0) >= (owner.Metadata.Generation ?? 0);
        if (status?.Phase == "Running" && ready && observed)
        {
            return (InstanceState.Running, InstanceHealth.Healthy, null, null);
        }

        var why = status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason
            ?? status?.Conditions?.FirstOrDefault(c => c.Type == "Ready" && c.Status == "False")?.Message;
        return (InstanceState.Starting, status?.Phase == "Running" ? InstanceHealth.Unhealthy : InstanceHealth.Unknown, why, null);
    }
}
