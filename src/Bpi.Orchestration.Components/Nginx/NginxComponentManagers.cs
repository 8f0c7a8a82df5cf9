using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Nginx;

/// <summary>
/// What the managers of the two nginx types share: the components of the type are served through CueNginx, so the
/// registered traffic router must be <see cref="CueNginxRouter"/> (a router registered after <c>AddCueNginx()</c>
/// replaces it) and each component needs a port for nginx to route to (a component without one gets no route).
/// </summary>
internal abstract class NginxComponentManager(Func<ITrafficRouter?> router, Func<CueNginxOptions> options) : IComponentManager
{
    public abstract DeploymentType Type { get; }

    protected CueNginxOptions Options => options();

    public IReadOnlyList<string> Check(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = new List<string>();
        var components = spec.Components ?? [];
        var served = Enumerable.Range(0, components.Count).Where(i => components[i] is { } c && spec.TypeOf(c) == Type).ToList();
        if (served.Count == 0)
        {
            return problems;
        }

        if (router() is not CueNginxRouter)
        {
            var name = router()?.Name;
            problems.Add($"type: {Type} serves components through CueNginx, and the registered traffic router is {(name is null ? "none" : $"'{name}'")} (a router registered after .AddCueNginx() replaces it); call .AddCueNginx() after any other router, or choose another type.");
        }

        foreach (var i in served)
        {
            if (components[i].Ports is not { Count: > 0 })
            {
                problems.Add($"components[{i}] ({components[i].Id}).ports: type {Type} serves the component through nginx, which routes only to a declared port; declare the port the component listens on.");
            }
        }

        CheckServed(problems, spec, served);
        return problems;
    }

    /// <summary>The type's own checks of the components it serves (their indexes in <see cref="DeploymentSpec.Components"/>).</summary>
    protected virtual void CheckServed(List<string> problems, DeploymentSpec spec, IReadOnlyList<int> served)
    {
    }
}

/// <summary>The manager of <see cref="DeploymentType.CueNginx"/>: nginx load balancing and traffic weights, registered by <c>AddCueNginx()</c>.</summary>
internal sealed class CueNginxComponentManager(Func<ITrafficRouter?> router, Func<CueNginxOptions> options) : NginxComponentManager(router, options)
{
    public override DeploymentType Type => DeploymentType.CueNginx;
}

/// <summary>
/// The manager of <see cref="DeploymentType.HttpCage"/>: the components are served through CueNginx with HttpCage in
/// front, so <see cref="CueNginxOptions.DefaultService"/> must carry <see cref="NginxServiceOptions.HttpCage"/> (a new
/// deployment's services take the defaults: its id is not known before it is admitted), and no per-service entry for one
/// of the components may leave it out.
/// </summary>
internal sealed class HttpCageComponentManager(Func<ITrafficRouter?> router, Func<CueNginxOptions> options) : NginxComponentManager(router, options)
{
    public override DeploymentType Type => DeploymentType.HttpCage;

    protected override void CheckServed(List<string> problems, DeploymentSpec spec, IReadOnlyList<int> served)
    {
        var options = Options;
        if (options.DefaultService.HttpCage is null)
        {
            problems.Add("type: HttpCage puts HTTP protection in front of each service and CueNginxOptions.DefaultService.HttpCage is not set, so the services would be unprotected; set it in .AddCueNginx(o => o.DefaultService.HttpCage = new HttpCageOptions { SecurityLevel = HttpCageSecurityLevel.Medium }), or choose type CueNginx.");
        }

        foreach (var i in served)
        {
            var suffix = "/" + spec.Components[i].Id;
            foreach (var (serviceId, service) in options.Services)
            {
                if (service.HttpCage is null && serviceId.EndsWith(suffix, StringComparison.Ordinal))
                {
                    problems.Add($"components[{i}] ({spec.Components[i].Id}): CueNginxOptions.Services['{serviceId}'] has no HttpCage, so that service would be unprotected; set its HttpCage, or remove the entry so the default service's applies.");
                }
            }
        }
    }
}
