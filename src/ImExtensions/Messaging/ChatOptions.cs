using System.ComponentModel.DataAnnotations;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>Configuration section <c>Chat</c>.</summary>
public sealed class ChatOptions
{
    public const string SectionName = "Chat";

    /// <summary>Largest uplink payload accepted on IM topics; larger ones are refused with QuotaExceeded.</summary>
    [Range(64, 16 * 1024 * 1024)]
    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    /// <summary>Longest client message id.</summary>
    [Range(1, 1024)]
    public int MaxClientMsgIdLength { get; set; } = 128;

    /// <summary>Messages per sync page when the client does not ask for fewer.</summary>
    [Range(1, 10_000)]
    public int SyncPageSize { get; set; } = 200;

    /// <summary>Conversations per sync answer when the client names none (keyset paging by conversation id).</summary>
    [Range(1, 10_000)]
    public int SyncConversationsPerPage { get; set; } = 500;

    /// <summary>How long after sending a message its sender may recall or edit it.</summary>
    public TimeSpan ChangeWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Messages per history page when the client does not ask for fewer.</summary>
    [Range(1, 10_000)]
    public int HistoryPageSize { get; set; } = 50;
}
