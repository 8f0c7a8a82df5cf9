namespace Bpi.Orchestration.Nginx;

/// <summary>
/// nginx refused a change or could not be run: <c>nginx -t</c> rejected the rendered config, a reload or start failed, or
/// nginx stopped answering. The message quotes what nginx said (<see cref="NginxMessage"/>). After a refused change the
/// previous config stays live. <see cref="OrchestrationException.Kind"/> is
/// <see cref="OrchestrationErrorKind.NetworkSetupFailed"/>, or <see cref="OrchestrationErrorKind.RuntimeUnavailable"/>
/// when nginx itself is missing or not running.
/// </summary>
public sealed class NginxException : OrchestrationException
{
    internal NginxException(OrchestrationErrorKind kind, string message, string nginxMessage, string? rejectedConfigPath = null, Exception? innerException = null)
        : base(kind, message, nginxMessage.Length == 0 ? null : [nginxMessage], innerException)
    {
        NginxMessage = nginxMessage;
        RejectedConfigPath = rejectedConfigPath;
    }

    /// <summary>What nginx said (its <c>[emerg]</c> lines), or an empty string when it said nothing.</summary>
    public string NginxMessage { get; }

    /// <summary>Where the refused config was kept for inspection; <see langword="null"/> when none was.</summary>
    public string? RejectedConfigPath { get; }
}
