// TEMPORARY, branch `docker` only: Core's DeploymentSpec.Validate() calls DeploymentSpecValidator, which the lead is
// landing on `main` (src/Bpi.Orchestration.Core/Validation/). Directory.Build.targets compiles this file into Core only
// while that file is absent, so the Docker work can build; delete both once `main` is merged.
namespace Bpi.Orchestration;

internal static class DeploymentSpecValidator
{
    public static IReadOnlyList<string> Validate(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return [];
    }
}
