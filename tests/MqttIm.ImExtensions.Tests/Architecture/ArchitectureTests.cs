using System.Reflection;
using MqttIm.ImExtensions.Hooks;

namespace MqttIm.ImExtensions.Tests.Architecture;

/// <summary>
/// The shape of src/ImExtensions, read from the compiled assembly: its areas (the folders under src/ImExtensions, one
/// namespace each) depend on each other without cycles, MQTTnet types stay at the hook boundary, and nothing of
/// ASP.NET Core is referenced.
/// </summary>
public sealed class ArchitectureTests
{
    private const string Root = "MqttIm.ImExtensions";

    /// <summary>Where MQTTnet types belong: the hooks that MQTTnet calls, and the fan-out that publishes to its sessions.</summary>
    private static readonly HashSet<string> MqttnetAreas = ["Hooks", "Delivery"];

    /// <summary>
    /// Areas outside Hooks/ and Delivery/ that use MQTTnet types, each with what uses it. An entry its area no longer needs
    /// fails the test too, so the list cannot outlive the reason.
    /// </summary>
    private static readonly Dictionary<string, string> MqttnetAllowList = new()
    {
        ["BrokerState"] = "persists MQTTnet's own retained messages and sessions (its MqttApplicationMessage and session types are the data)",
    };

    /// <summary>
    /// Intended layers, lowest first: Memory, Diagnostics, Sequencing, Storage, Topics; Sessions, Auth, Delivery, Messaging,
    /// Groups, Presence, Moderation, Cluster, Rpc, Devices, Rooms, Notifications; Routing, Operations, Hooks. A dependency
    /// that points up that order closes a cycle: invert it with a seam the lower area owns (Messaging's
    /// <c>IGroupSendPolicy</c> and <c>IGroupFanout</c>, which Groups implements) or move the piece up (Devices/Cluster).
    /// </summary>
    private static readonly Assembly ImExtensions = typeof(MqttServerHooks).Assembly;
    private static readonly Lazy<AssemblyDependencies> Dependencies = new(() => AssemblyDependencies.Read(ImExtensions));

    [Fact]
    public void ImExtensions_DoesNotReferenceAspNetCore()
    {
        var aspNetCore = ImExtensions.GetReferencedAssemblies()
            .Select(a => a.Name!)
            .Where(name => name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || name.StartsWith("Prometheus.AspNetCore", StringComparison.Ordinal))
            .ToList();
        Assert.True(aspNetCore.Count == 0, "ImExtensions references " + string.Join(", ", aspNetCore) + ": move what needs it into src/Broker");
    }

    [Fact]
    public void Areas_DependOnEachOther_WithoutCycles()
    {
        var edges = AreaEdges();
        Assert.NotEmpty(edges); // the reader found dependencies at all (Messaging uses Storage, for one)
        Assert.Contains(("Messaging", "Storage"), edges.Keys);

        var graph = edges.Keys
            .GroupBy(edge => edge.From)
            .ToDictionary(g => g.Key, g => g.Select(edge => edge.To).OrderBy(to => to, StringComparer.Ordinal).ToList());
        var cycles = FindCycles(graph);
        Assert.True(cycles.Count == 0, "Namespace cycles in ImExtensions (a cycle, then every edge among its areas with the types that make it):\n"
            + string.Join("\n", cycles.Select(c => string.Join(" -> ", c.Cycle) + "\n" + string.Join("\n", graph
                .Where(from => c.Component.Contains(from.Key))
                .SelectMany(from => from.Value.Where(c.Component.Contains).Select(to => (From: from.Key, To: to)))
                .OrderBy(edge => edge.From + "->" + edge.To, StringComparer.Ordinal)
                .Select(edge => $"    {edge.From}->{edge.To}: {string.Join(", ", edges[edge].Order(StringComparer.Ordinal).Take(8))}")))));
    }

    [Fact]
    public void MqttnetTypes_AreUsedOnlyAtTheHookBoundary()
    {
        var offenders = Dependencies.Value.Types
            .Where(t => t.Uses.Any(ns => ns == "MQTTnet" || ns.StartsWith("MQTTnet.", StringComparison.Ordinal)))
            .Where(t => !IsCompositionRoot(t.Type))
            .Select(t => (Area: AreaOf(t.Namespace), t.Type))
            .Where(t => t.Area is not null && !MqttnetAreas.Contains(t.Area) && !MqttnetAllowList.ContainsKey(t.Area))
            .OrderBy(t => t.Type, StringComparer.Ordinal)
            .ToList();
        Assert.True(offenders.Count == 0, "MQTTnet types used outside Hooks/ and Delivery/ (return a verdict that MqttServerHooks applies instead):\n"
            + string.Join("\n", offenders.Select(o => $"    {o.Area}: {o.Type}")));

        var areasUsingMqttnet = Dependencies.Value.Types
            .Where(t => t.Uses.Any(ns => ns == "MQTTnet" || ns.StartsWith("MQTTnet.", StringComparison.Ordinal)) && !IsCompositionRoot(t.Type))
            .Select(t => AreaOf(t.Namespace))
            .ToHashSet();
        var stale = MqttnetAllowList.Keys.Where(area => !areasUsingMqttnet.Contains(area)).ToList();
        Assert.True(stale.Count == 0, "Allowed to use MQTTnet but no longer does (remove from MqttnetAllowList): " + string.Join(", ", stale));
    }

    /// <summary>Area → area dependencies, each with the types of the first area that make it.</summary>
    private static Dictionary<(string From, string To), HashSet<string>> AreaEdges()
    {
        var edges = new Dictionary<(string, string), HashSet<string>>();
        foreach (var (type, ns, uses) in Dependencies.Value.Types)
        {
            if (AreaOf(ns) is not { } from || IsCompositionRoot(type))
            {
                continue;
            }

            foreach (var used in uses)
            {
                if (AreaOf(used) is { } to && to != from)
                {
                    if (!edges.TryGetValue((from, to), out var types))
                    {
                        edges[(from, to)] = types = [];
                    }

                    types.Add(type[(Root.Length + 1)..]);
                }
            }
        }

        return edges;
    }

    /// <summary>
    /// An area's <c>XxxServiceRegistration</c> is DI wiring, like <c>AddMqttImExtensions</c>: the composition root may name
    /// every area it puts together, so it makes no dependency of its area.
    /// </summary>
    private static bool IsCompositionRoot(string type) => type.EndsWith("ServiceRegistration", StringComparison.Ordinal);

    /// <summary>"MqttIm.ImExtensions.Storage.Sqlite" → "Storage"; null outside ImExtensions' own namespaces (the DI wiring in Microsoft.Extensions.DependencyInjection is the composition root and may use every area).</summary>
    private static string? AreaOf(string ns)
    {
        if (ns == Root)
        {
            return "(root)";
        }

        if (!ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns[(Root.Length + 1)..];
        var dot = rest.IndexOf('.');
        return dot < 0 ? rest : rest[..dot];
    }

    /// <summary>One cycle (as a closed path A → B → … → A) per strongly connected component of more than one area.</summary>
    private static List<(List<string> Cycle, HashSet<string> Component)> FindCycles(Dictionary<string, List<string>> graph) =>
        StronglyConnectedComponents(graph)
            .Where(component => component.Count > 1)
            .Select(component => (ShortestCycleThrough(component.Min(StringComparer.Ordinal)!, graph, component), component))
            .ToList();

    private static List<string> ShortestCycleThrough(string start, Dictionary<string, List<string>> graph, HashSet<string> component)
    {
        // Breadth-first from start inside the component, back to start: the shortest cycle, named area by area.
        var previous = new Dictionary<string, string>();
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            foreach (var next in graph.GetValueOrDefault(node, []))
            {
                if (!component.Contains(next))
                {
                    continue;
                }

                if (next == start)
                {
                    var path = new List<string> { start };
                    for (var at = node; at != start; at = previous[at])
                    {
                        path.Add(at);
                    }

                    path.Add(start);
                    path.Reverse();
                    return path;
                }

                if (previous.TryAdd(next, node))
                {
                    queue.Enqueue(next);
                }
            }
        }

        throw new InvalidOperationException("a strongly connected component always has a cycle through each of its nodes");
    }

    private static List<HashSet<string>> StronglyConnectedComponents(Dictionary<string, List<string>> graph)
    {
        // Tarjan's algorithm; the graph has a few dozen nodes, so recursion depth is no concern.
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var components = new List<HashSet<string>>();
        var nodes = graph.Keys.Concat(graph.Values.SelectMany(v => v)).Distinct().Order(StringComparer.Ordinal).ToList();

        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in graph.GetValueOrDefault(node, []))
            {
                if (!index.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], index[next]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new HashSet<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);

                components.Add(component);
            }
        }

        foreach (var node in nodes)
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return components;
    }
}
