namespace Bpi.Orchestration.Ownership;

/// <summary>The <see cref="DeploymentCommand.Verb"/> of each command an instance sends to a deployment's owner.</summary>
internal static class DeploymentCommandVerbs
{
    public const string Pause = "pause";
    public const string Resume = "resume";
    public const string Abort = "abort";
    public const string Promote = "promote";
    public const string Approve = "approve";
    public const string Reject = "reject";
    public const string Scale = "scale";
    public const string Destroy = "destroy";

    public static readonly string[] All = [Pause, Resume, Abort, Promote, Approve, Reject, Scale, Destroy];
}
