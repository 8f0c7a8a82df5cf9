using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.Strategies.Telemetry;

namespace Bpi.Orchestration.Strategies.Hooks;

/// <summary>Runs <see cref="RunHookStep"/>: a registered delegate or a webhook POST, within the hook's timeout; audits the outcome.</summary>
internal sealed class RunHookHandler(IEnumerable<NamedRolloutHook> hooks, StrategiesHttp http, IAuditSink audit, TimeProvider time) : RolloutStepHandler<RunHookStep>
{
    private readonly Dictionary<string, RolloutHook> _hooks = hooks.GroupBy(h => h.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Hook, StringComparer.Ordinal);

    protected override async ValueTask ExecuteAsync(RunHookStep step, RolloutStepContext context, CancellationToken cancellationToken)
    {
        var plan = context.Plan;
        var toRevision = plan?.ToRevision ?? 0;
        var spec = context.GetRevision(plan?.Kind == RolloutKind.Rollback ? plan.FromRevision ?? toRevision : toRevision).Spec;
        var hookContext = new RolloutHookContext(context.DeploymentId, spec.Name, spec.AppId, spec.Environment, step.Phase, plan?.FromRevision, toRevision, context.RequestedBy);
        var phase = RunHookStep.PhaseName(step.Phase);
        var failOnError = step.Hook.FailOnError ?? step.Phase == HookPhase.PreRollout;
        string? error = null;
        using (var timeout = step.Hook.Url is null ? new CancellationTokenSource(step.Hook.Timeout, time) : StrategiesHttp.NetworkTimeout(step.Hook.Timeout))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                if (step.Hook.Url is { } url)
                {
                    await PostAsync(url, step.Hook.Name, hookContext, linked.Token).ConfigureAwait(false);
                }
                else if (_hooks.TryGetValue(step.Hook.Name, out var hook))
                {
                    await hook(hookContext, linked.Token).ConfigureAwait(false);
                }
                else
                {
                    error = $"no hook is registered under the name '{step.Hook.Name}'; register it with builder.AddRolloutHook(\"{step.Hook.Name}\", …) or give the hook a url";
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"it did not finish within {step.Hook.Timeout}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                error = ex.Message;
            }
        }

        await audit.AppendAsync(
            new AuditEvent(time.GetUtcNow(), context.RequestedBy, "rollout.hook", context.DeploymentId, error is null ? "succeeded" : "failed", new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["hook"] = step.Hook.Name,
                ["phase"] = phase,
                ["error"] = error,
            }),
            CancellationToken.None).ConfigureAwait(false);

        if (error is null)
        {
            Log.HookSucceeded(context.Logger, context.DeploymentId, phase, step.Hook.Name);
            return;
        }

        Log.HookFailed(context.Logger, context.DeploymentId, phase, step.Hook.Name, error);
        if (failOnError)
        {
            throw new OrchestrationException(OrchestrationErrorKind.DeploymentFailed, $"The {phase} hook '{step.Hook.Name}' failed: {error}.");
        }

        context.ReportProgress($"{phase} hook '{step.Hook.Name}' failed ({error}); continuing");
    }

    private async Task PostAsync(Uri url, string name, RolloutHookContext context, CancellationToken cancellationToken)
    {
        var body = Payload(name, context);
        await http.Retry.ExecuteAsync(
            async ct =>
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.Client.PostAsync(url, content, ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException(string.Create(CultureInfo.InvariantCulture, $"the webhook {url.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode} {response.ReasonPhrase}"), null, response.StatusCode);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    internal static byte[] Payload(string name, RolloutHookContext context)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("hook", name);
            json.WriteString("phase", RunHookStep.PhaseName(context.Phase));
            json.WriteString("deploymentId", context.DeploymentId);
            json.WriteString("name", context.DeploymentName);
            json.WriteString("appId", context.AppId);
            json.WriteString("environment", context.Environment);
            if (context.FromRevision is { } from)
            {
                json.WriteNumber("fromRevision", from);
            }

            json.WriteNumber("toRevision", context.ToRevision);
            json.WriteString("requestedBy", context.RequestedBy);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }
}
