namespace MqttIm.ImExtensions.Operations;

/// <summary>A merged console listing: the page, how many matched in all, and the nodes that did not answer in time.</summary>
public sealed record ConsoleListing<T>(IReadOnlyList<T> Items, int Total, IReadOnlyList<string> UnansweredNodes);
