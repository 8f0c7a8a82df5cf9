using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Bpi.Orchestration.Strategies.BlueGreen;
using Bpi.Orchestration.Strategies.Canary;
using Bpi.Orchestration.Strategies.Rolling;

namespace Bpi.Orchestration.Strategies;

/// <summary>Registers the package's strategy names in <see cref="StrategySpecRegistry"/>: <c>rolling</c> (alias <c>rollingUpdate</c>), <c>canary</c>, <c>blue-green</c> (alias <c>blueGreen</c>); and its <see cref="Analysis.MetricQuery"/> as the autoscaling query kind <c>metric</c> (<see cref="AutoscalingQueryTypes"/>).</summary>
internal static class StrategySpecNames
{
    /// <summary>Runs when the package is loaded, so records and configuration files name these strategies before any builder call; the builder extensions call it too.</summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "The names must be readable as soon as the package is loaded (a config file may be read before the host is built); registration is idempotent and touches nothing but the registry.")]
    internal static void Register()
    {
        StrategySpecRegistry.Register<RollingStrategySpec>(RollingStrategySpec.StrategyName, "rollingUpdate");
        StrategySpecRegistry.Register<CanaryStrategySpec>(CanaryStrategySpec.StrategyName);
        StrategySpecRegistry.Register<BlueGreenStrategySpec>(BlueGreenStrategySpec.StrategyName, "blueGreen");
        AutoscalingQueryTypes.Register<Analysis.MetricQuery>("metric");
    }
}
