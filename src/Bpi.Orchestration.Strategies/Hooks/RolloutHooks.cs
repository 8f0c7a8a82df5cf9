using System.Globalization;
using Bpi.Orchestration.Rollout;

namespace Bpi.Orchestration.Strategies.Hooks;

/// <summary>
/// Hooks of a rollout: each is a delegate registered by name (<c>builder.AddRolloutHook(name, …)</c>) or an HTTP webhook
/// (a JSON POST; any 2xx is success). Pre-rollout hooks run first and fail the rollout on error; post-rollout hooks run
/// last; on-abort hooks run first in every rollback plan (after a failure or an abort), so a database migration can be
/// undone. Post-rollout and on-abort hook failures are logged and audited but do not change the outcome, unless
/// <see cref="HookSpec.FailOnError"/> says otherwise.
/// </summary>
public sealed record RolloutHooks
{
    /// <summary>Hooks run before anything else in the rollout.</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<HookSpec> PreRollout { get; init; } = [];

    /// <summary>Hooks run after the new revision serves all traffic.</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<HookSpec> PostRollout { get; init; } = [];

    /// <summary>Hooks run at the start of a rollback (the rollout failed or was aborted).</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<HookSpec> OnAbort { get; init; } = [];

    internal IEnumerable<string> Validate()
    {
        foreach (var (list, field) in new[] { (PreRollout, "preRollout"), (PostRollout, "postRollout"), (OnAbort, "onAbort") })
        {
            if (list is null)
            {
                yield return $"hooks.{field}: is required (use an empty list for none).";
                continue;
            }

            for (var i = 0; i < list.Count; i++)
            {
                foreach (var problem in list[i]?.Validate() ?? ["is null."])
                {
                    yield return string.Create(CultureInfo.InvariantCulture, $"hooks.{field}[{i}]: {problem}");
                }
            }
        }
    }
}

/// <summary>One hook: a named delegate, or an HTTP webhook when <see cref="Url"/> is set.</summary>
public sealed record HookSpec
{
    /// <summary>The hook's name; for a delegate hook, the name it was registered under.</summary>
    public required string Name { get; init; }

    /// <summary>The webhook to POST to; <see langword="null"/> runs the delegate registered under <see cref="Name"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Uri? Url { get; init; }

    /// <summary>How long the hook may take.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether a failing hook fails the plan it runs in; <see langword="null"/> uses the phase's default (pre-rollout: yes; post-rollout and on-abort: no).</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public bool? FailOnError { get; init; }

    internal IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            yield return "name: is required.";
        }

        if (Url is not null && (!Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps)))
        {
            yield return $"url: '{Url}' must be an absolute http or https URL.";
        }

        if (Timeout <= TimeSpan.Zero)
        {
            yield return "timeout: must be greater than zero.";
        }

        if (DeploymentSpec.CheckDuration("timeout", Timeout) is { } tooLong)
        {
            yield return tooLong;
        }
    }
}

/// <summary>When a hook runs.</summary>
public enum HookPhase
{
    /// <summary>Before the rollout does anything.</summary>
    PreRollout = 0,

    /// <summary>After the new revision serves all traffic.</summary>
    PostRollout,

    /// <summary>At the start of a rollback after a failure or an abort.</summary>
    OnAbort,
}

/// <summary>Runs a hook.</summary>
/// <param name="Phase">When it runs.</param>
/// <param name="Hook">The hook.</param>
public sealed record RunHookStep(HookPhase Phase, HookSpec Hook) : RolloutStep
{
    /// <inheritdoc />
    public override string Kind => "hook";

    /// <inheritdoc />
    public override string Describe() => $"run {PhaseName(Phase)} hook '{Hook.Name}'" + (Hook.Url is null ? "" : $" ({Hook.Url.GetLeftPart(UriPartial.Path)})");

    internal static string PhaseName(HookPhase phase) => phase switch
    {
        HookPhase.PreRollout => "pre-rollout",
        HookPhase.PostRollout => "post-rollout",
        _ => "on-abort",
    };
}

/// <summary>Adds hook steps to plans.</summary>
internal static class HookPlanner
{
    public static void Add(List<RolloutStep> steps, IReadOnlyList<HookSpec>? hooks, HookPhase phase)
    {
        if (hooks is null)
        {
            return;
        }

        foreach (var hook in hooks)
        {
            steps.Add(new RunHookStep(phase, hook));
        }
    }
}
