using System.Globalization;
using k8s.Models;

namespace Bpi.Orchestration.Kubernetes.Runtime;

/// <summary>What <c>kubectl rollout status deployment/x</c> says of a Deployment: done, still waiting (and why), or failed.</summary>
/// <param name="Done">The rollout is complete.</param>
/// <param name="Failed">The rollout failed (progress deadline exceeded, or pods cannot be created).</param>
/// <param name="Message">kubectl's sentence.</param>
internal sealed record RolloutStatus(bool Done, bool Failed, string Message)
{
    public static RolloutStatus Of(V1Deployment deployment)
    {
        var name = deployment.Metadata.Name;
        var status = deployment.Status;
        if (status is null || (deployment.Metadata.Generation ?? 0) > (status.ObservedGeneration ?? 0))
        {
            return new(false, false, "Waiting for deployment spec update to be observed...");
        }

        var conditions = status.Conditions ?? [];
        if (conditions.FirstOrDefault(c => c.Type == "Progressing") is { Reason: "ProgressDeadlineExceeded" } deadline)
        {
            return new(false, true, $"deployment \"{name}\" exceeded its progress deadline: {deadline.Message}");
        }

        if (conditions.FirstOrDefault(c => c.Type == "ReplicaFailure" && c.Status == "True") is { } failure)
        {
            return new(false, true, $"deployment \"{name}\" cannot create pods ({failure.Reason}): {failure.Message}");
        }

        var desired = deployment.Spec?.Replicas ?? 1;
        var updated = status.UpdatedReplicas ?? 0;
        var replicas = status.Replicas ?? 0;
        var available = status.AvailableReplicas ?? 0;
        if (updated < desired)
        {
            return new(false, false, string.Create(CultureInfo.InvariantCulture, $"Waiting for deployment \"{name}\" rollout to finish: {updated} out of {desired} new replicas have been updated..."));
        }

        if (replicas > updated)
        {
            return new(false, false, string.Create(CultureInfo.InvariantCulture, $"Waiting for deployment \"{name}\" rollout to finish: {replicas - updated} old replicas are pending termination..."));
        }

        if (available < updated)
        {
            return new(false, false, string.Create(CultureInfo.InvariantCulture, $"Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available..."));
        }

        return new(true, false, $"deployment \"{name}\" successfully rolled out");
    }
}
