using Bpi.Orchestration.Traffic;

namespace Bpi.Orchestration.Routing;

/// <summary>The checks every router makes on a <see cref="TrafficRoute"/> before applying it.</summary>
internal static class TrafficRouteValidation
{
    /// <summary>Every problem of a route, one sentence each; empty when it can be applied.</summary>
    public static List<string> Validate(TrafficRoute route)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(route.ServiceId))
        {
            errors.Add("serviceId: must not be empty.");
        }

        if (route.ListenPort is { } port && port is < 0 or > 65535)
        {
            errors.Add($"listenPort: {port} is out of range; use 1 to 65535, or null to let the router choose.");
        }

        for (var i = 0; i < route.Backends.Count; i++)
        {
            var backend = route.Backends[i];
            if (backend.Weight is < 0 or > 100)
            {
                errors.Add($"backends[{i}].weight: {backend.Weight} is out of range; use 0 to 100.");
            }

            if (route.Backends.Take(i).Any(b => b.Revision == backend.Revision))
            {
                errors.Add($"backends[{i}].revision: revision {backend.Revision} is listed twice.");
            }

            if (backend.Endpoints.Any(e => e.Port is < 1 or > 65535 || string.IsNullOrWhiteSpace(e.Host)))
            {
                errors.Add($"backends[{i}].endpoints: every endpoint needs a host and a port from 1 to 65535.");
            }
        }

        return errors;
    }
}
