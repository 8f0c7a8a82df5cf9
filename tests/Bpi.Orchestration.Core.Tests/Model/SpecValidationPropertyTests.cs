using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Bpi.Orchestration.Tests.Model;

public sealed class SpecValidationPropertyTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    [Fact]
    public void Dependency_order_puts_every_dependency_before_its_dependents_for_any_acyclic_graph()
    {
        // Component i may depend only on components with a lower index: always acyclic. The input order is shuffled.
        var gen =
            from count in Gen.Choose(1, 12)
            from edges in Gen.ListOf(Gen.Choose(0, 1000).Two(), count * 2)
            from order in Gen.Shuffle(Enumerable.Range(0, count).ToArray())
            select (count, edges.ToArray(), order);

        Prop.ForAll(gen.ToArbitrary(), input =>
        {
            var (count, edges, order) = input;
            var deps = Enumerable.Range(0, count).ToDictionary(i => i, _ => new HashSet<int>());
            foreach (var (a, b) in edges)
            {
                var from = a % count;
                var to = b % count;
                if (to < from)
                {
                    deps[from].Add(to);
                }
            }

            var components = order.Select(i => new ComponentSpec { Id = $"c{i}", Image = "x:1", DependsOn = [.. deps[i].Select(d => $"c{d}")] }).ToList();
            var spec = new DeploymentSpec { Name = "g", AppId = "g", Components = components };
            var sorted = ComponentOrder.Sort(components).Select(c => c.Id).ToList();

            return spec.Validate().Count == 0
                && sorted.Count == count
                && components.All(c => c.DependsOn.All(d => sorted.IndexOf(d) < sorted.IndexOf(c.Id)));
        }).Check(Config);
    }

    [Fact]
    public void A_dependency_cycle_is_always_reported_with_its_path()
    {
        var gen = Gen.Choose(2, 8);
        Prop.ForAll(gen.ToArbitrary(), length =>
        {
            var components = Enumerable.Range(0, length)
                .Select(i => new ComponentSpec { Id = $"c{i}", Image = "x:1", DependsOn = [$"c{(i + 1) % length}"] })
                .ToList();
            var errors = new DeploymentSpec { Name = "g", AppId = "g", Components = components }.Validate();
            return errors.Count == 1 && errors[0].Contains("dependency cycle c0 -> ", StringComparison.Ordinal);
        }).Check(Config);
    }

    [Fact]
    public void Subnets_inside_the_vpc_and_disjoint_are_valid_and_any_outside_is_reported()
    {
        var gen =
            from second in Gen.Choose(0, 255)
            from thirds in Gen.ListOf(Gen.Choose(0, 255), 4)
            from outside in Gen.Choose(0, 255)
            select (second, thirds.Distinct().ToArray(), outside);

        Prop.ForAll(gen.ToArbitrary(), input =>
        {
            var (second, thirds, outside) = input;
            var network = new NetworkConfig { VpcCidr = $"10.{second}.0.0/16", SubnetCidrs = [.. thirds.Select(t => $"10.{second}.{t}.0/24")] };
            var valid = Spec(network).Validate().Count == 0;
            var other = (second + 1 + (outside % 254)) % 256;
            var bad = Spec(network with { SubnetCidrs = [.. network.SubnetCidrs, $"10.{other}.0.0/24"] }).Validate();
            return valid && bad.Count == 1 && bad[0].Contains("is not inside the VPC", StringComparison.Ordinal);
        }).Check(Config);

        static DeploymentSpec Spec(NetworkConfig network) => new()
        {
            Name = "n",
            AppId = "n",
            Components = [new ComponentSpec { Id = "c", Image = "x:1" }],
            Infrastructure = new InfrastructureConfig { Network = network },
        };
    }

    [Fact]
    public void The_reservation_of_a_spec_is_the_sum_of_replicas_times_requests()
    {
        var gen = Gen.ListOf(Gen.Choose(0, 20).Zip(Gen.Choose(1, 16)), 5);
        Prop.ForAll(gen.ToArbitrary(), parts =>
        {
            var components = parts.Select((p, i) => new ComponentSpec
            {
                Id = $"c{i}",
                Image = "x:1",
                Replicas = p.Item1,
                Resources = new ComponentResources { CpuCores = p.Item2 * 0.25, MemoryMb = p.Item2 * 64 },
            }).ToList();
            var reservation = new DeploymentSpec { Name = "r", AppId = "r", Components = components }.GetReservation();
            return Math.Abs(reservation.CpuCores - parts.Sum(p => p.Item1 * p.Item2 * 0.25)) < 1e-9
                && reservation.MemoryMb == parts.Sum(p => (long)p.Item1 * p.Item2 * 64);
        }).Check(Config);
    }
}
