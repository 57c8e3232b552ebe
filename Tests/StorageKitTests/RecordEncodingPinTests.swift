import Foundation
import Testing

@testable import StorageKit

/// The exact JSON of every `Codable` value the daemon writes or answers with: key names, key order (as
/// `OrderedJSONEncoder` keeps it), nulls and number formatting, with every field set and with the optional
/// ones left out. Whatever spells the keys or codes the dates, these bytes stay the same.
struct RecordEncodingPinTests {
    static let at = ISO8601Millis.date(milliseconds: 1_795_514_400_123)

    static func ordered(_ value: some Encodable) throws -> String {
        String(decoding: try OrderedJSONEncoder().encode(value), as: UTF8.self)
    }

    static func sorted(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static let fullMetadata = MediaMetadata(
        durationSeconds: 12.5,
        formatName: "mov,mp4",
        bitRate: 1_200_000,
        width: 1280,
        height: 720,
        rotation: 90,
        videoCodec: "h264",
        frameRate: 30,
        audioCodec: "aac",
        sampleRate: 48_000,
        channels: 2,
        pixelFormat: "yuv420p10le",
        bitDepth: 10,
        colorTransfer: "arib-std-b67",
        creationTime: "2026-05-01T12:34:56Z",
        make: "Apple",
        model: "iPhone",
        location: "+48.8577+002.2950/"
    )

    static let rendition = Rendition(
        name: "720p",
        relativePath: "processed/project_demo/x/720p.mp4",
        width: 1280,
        height: 720,
        videoCodec: "h264",
        audioCodec: "aac",
        sizeBytes: 734_003
    )

    static let sprite = SpriteSheet(
        imagePath: "processed/project_demo/x/sprite.jpg",
        vttPath: "processed/project_demo/x/sprite.vtt",
        intervalSeconds: 0.5,
        count: 25,
        columns: 10,
        tileWidth: 160,
        tileHeight: 90
    )

    @Test func mediaMetadata() throws {
        let metadata = Self.fullMetadata
        let json = try Self.ordered(metadata)
        #expect(
            json
                == #"{"duration_seconds":12.5,"format_name":"mov,mp4","bit_rate":1200000,"width":1280,"height":720,"rotation":90,"video_codec":"h264","frame_rate":30.0,"audio_codec":"aac","sample_rate":48000,"channels":2,"pixel_format":"yuv420p10le","bit_depth":10,"color_transfer":"arib-std-b67","creation_time":"2026-05-01T12:34:56Z","make":"Apple","model":"iPhone","location":"+48.8577+002.2950/"}"#
        )
        #expect(try Self.ordered(MediaMetadata(width: 2)) == #"{"width":2}"#)
        #expect(try JSONDecoder().decode(MediaMetadata.self, from: Data(json.utf8)) == metadata)
    }

    /// The `assets.metadata` column's text: keys sorted, `nil` fields left out.
    @Test func mediaMetadataCatalogColumn() throws {
        let column = try Self.fullMetadata.catalogJSON()
        #expect(
            column
                == #"{"audio_codec":"aac","bit_depth":10,"bit_rate":1200000,"channels":2,"color_transfer":"arib-std-b67","creation_time":"2026-05-01T12:34:56Z","duration_seconds":12.5,"format_name":"mov,mp4","frame_rate":30.0,"height":720,"location":"+48.8577+002.2950/","make":"Apple","model":"iPhone","pixel_format":"yuv420p10le","rotation":90,"sample_rate":48000,"video_codec":"h264","width":1280}"#
        )
        #expect(MediaMetadata.parseFlat(column) == Self.fullMetadata)
        #expect(try MediaMetadata(frameRate: 25, make: "x").catalogJSON() == #"{"frame_rate":25.0,"make":"x"}"#)
        #expect(try MediaMetadata().catalogJSON() == "{}")
    }

    @Test func renditionAndSprite() throws {
        let rendition = try Self.ordered(Self.rendition)
        #expect(
            rendition
                == #"{"name":"720p","relative_path":"processed/project_demo/x/720p.mp4","width":1280,"height":720,"video_codec":"h264","audio_codec":"aac","size_bytes":734003}"#
        )
        var silent = Self.rendition
        silent.audioCodec = nil
        #expect(!(try Self.ordered(silent)).contains("audio_codec"))
        #expect(try JSONDecoder().decode(Rendition.self, from: Data(rendition.utf8)) == Self.rendition)
        let sprite = try Self.ordered(Self.sprite)
        #expect(
            sprite
                == #"{"image_path":"processed/project_demo/x/sprite.jpg","vtt_path":"processed/project_demo/x/sprite.vtt","interval_seconds":0.5,"count":25,"columns":10,"tile_width":160,"tile_height":90}"#
        )
        #expect(try JSONDecoder().decode(SpriteSheet.self, from: Data(sprite.utf8)) == Self.sprite)
    }

    @Test func asset() throws {
        let asset = Asset(
            id: "a1",
            projectID: "demo",
            filename: "x-1a2b3c4d5e.mp4",
            originalFilename: "x.mp4",
            relativePath: "uploads/project_demo/x-1a2b3c4d5e.mp4",
            checksum: "ab",
            sizeBytes: 5,
            mimeType: "video/mp4",
            status: .failed,
            thumbnailPath: nil,
            metadata: MediaMetadata(width: 2),
            renditions: [Self.rendition],
            sprite: nil,
            error: "bad",
            createdAt: Self.at,
            updatedAt: Self.at
        )
        let json = try Self.ordered(asset)
        #expect(
            json
                == #"{"id":"a1","project_id":"demo","filename":"x-1a2b3c4d5e.mp4","original_filename":"x.mp4","relative_path":"uploads/project_demo/x-1a2b3c4d5e.mp4","checksum":"ab","size_bytes":5,"mime_type":"video/mp4","status":"failed","thumbnail_path":null,"metadata":{"width":2},"renditions":[{"name":"720p","relative_path":"processed/project_demo/x/720p.mp4","width":1280,"height":720,"video_codec":"h264","audio_codec":"aac","size_bytes":734003}],"sprite":null,"error":"bad","created_at":"2026-11-24T10:00:00.123Z","updated_at":"2026-11-24T10:00:00.123Z"}"#
        )
        #expect(json == String(decoding: asset.orderedJSON, as: UTF8.self))
        #expect(try JSONDecoder().decode(Asset.self, from: Data(json.utf8)) == asset)
    }

    @Test func ingestEvent() throws {
        let event = IngestEvent(
            id: 7,
            type: .renditionReady,
            at: Self.at,
            node: "vm",
            projectID: "demo",
            assetID: "a1",
            filename: "x.mp4",
            rendition: "720p",
            reason: "duplicate",
            error: "bad",
            detail: "d"
        )
        let json = try Self.ordered(event)
        #expect(
            json
                == #"{"id":7,"type":"rendition_ready","at":"2026-11-24T10:00:00.123Z","node":"vm","project_id":"demo","asset_id":"a1","filename":"x.mp4","rendition":"720p","reason":"duplicate","error":"bad","detail":"d"}"#
        )
        #expect(json == String(decoding: event.orderedJSON, as: UTF8.self))
        #expect(try JSONDecoder().decode(IngestEvent.self, from: Data(json.utf8)) == event)
        let bare = IngestEvent(id: 1, type: .deleted, at: Self.at, projectID: "demo")
        #expect(
            try Self.ordered(bare) == #"{"id":1,"type":"deleted","at":"2026-11-24T10:00:00.123Z","project_id":"demo"}"#
        )
        #expect(try JSONDecoder().decode(IngestEvent.self, from: Data(try Self.ordered(bare).utf8)) == bare)
    }

    @Test func rejectionAsItsReasonFileHoldsIt() throws {
        let rejection = Rejection(
            reason: .extensionNotAllowed,
            detail: "no",
            rejectedAt: Self.at,
            originalFilename: "a/b.txt"
        )
        let file = String(decoding: try RejectedStore.encoder.encode(rejection), as: UTF8.self)
        #expect(
            file
                == #"{"detail":"no","original_filename":"a/b.txt","reason":"extension_not_allowed","rejected_at":"2026-11-24T10:00:00.123Z"}"#
        )
        #expect(
            try Self.ordered(rejection)
                == #"{"reason":"extension_not_allowed","detail":"no","rejected_at":"2026-11-24T10:00:00.123Z","original_filename":"a/b.txt"}"#
        )
        #expect(try JSONDecoder().decode(Rejection.self, from: Data(file.utf8)) == rejection)
        let anonymous = Rejection(reason: .empty, detail: "d", rejectedAt: Self.at)
        #expect(
            String(decoding: try RejectedStore.encoder.encode(anonymous), as: UTF8.self)
                == #"{"detail":"d","reason":"empty","rejected_at":"2026-11-24T10:00:00.123Z"}"#
        )
    }

    @Test func rejectedFile() throws {
        var file = RejectedFile(
            name: "b.txt",
            sizeBytes: 3,
            reason: "empty",
            detail: "d",
            rejectedAt: "2026-11-24T10:00:00.123Z"
        )
        #expect(
            try Self.ordered(file)
                == #"{"name":"b.txt","size_bytes":3,"reason":"empty","detail":"d","rejected_at":"2026-11-24T10:00:00.123Z"}"#
        )
        file.originalFilename = "a/b.txt"
        #expect(
            try Self.sorted(file)
                == #"{"detail":"d","name":"b.txt","original_filename":"a/b.txt","reason":"empty","rejected_at":"2026-11-24T10:00:00.123Z","size_bytes":3}"#
        )
    }

    @Test func pendingMove() throws {
        let move = PendingMove(
            id: 3,
            assetID: "a1",
            projectID: "demo",
            sourcePath: "/drop/demo/x.mp4",
            stagingPath: "/s/.staging/x",
            targetRelativePath: "uploads/project_demo/x.mp4",
            stage: .placedCopy,
            createdAt: Self.at
        )
        let json = try Self.ordered(move)
        #expect(
            json
                == #"{"id":3,"asset_id":"a1","project_id":"demo","source_path":"/drop/demo/x.mp4","staging_path":"/s/.staging/x","target_relative_path":"uploads/project_demo/x.mp4","stage":"placed-copy","created_at":"2026-11-24T10:00:00.123Z"}"#
        )
        #expect(try JSONDecoder().decode(PendingMove.self, from: Data(json.utf8)) == move)
        let unknownStage = json.replacingOccurrences(of: "placed-copy", with: "from-a-newer-version")
        #expect(try JSONDecoder().decode(PendingMove.self, from: Data(unknownStage.utf8)).stage == .staged)
    }

    @Test func statisticsAndSummaries() throws {
        var categories: [String: CategoryUsage] = [:]
        for category in StorageCategory.allCases { categories[category.rawValue] = .zero }
        categories["uploads"] = CategoryUsage(bytes: 1_572_864, fileCount: 2)
        let stats = StorageStatistics(root: "/s", projectID: "p", categories: categories)
        let zero = #"{"bytes":0,"megabytes":0.0,"file_count":0}"#
        let folders = StorageCategory.allCases.map {
            "\"\($0.rawValue)\":" + ($0 == .uploads ? #"{"bytes":1572864,"megabytes":1.5,"file_count":2}"# : zero)
        }
        #expect(
            try Self.ordered(stats) == #"{"root":"/s","project_id":"p","categories":{"# + folders.joined(separator: ",")
                + "}}"
        )
        #expect(try Self.ordered(StorageStatistics(root: "/s", categories: [:])) == #"{"root":"/s","categories":{}}"#)
        #expect(
            try Self.ordered(ProjectSummary(projectID: "p", assets: 1, bytes: 2, rejected: 3))
                == #"{"project_id":"p","assets":1,"bytes":2,"rejected":3}"#
        )
        #expect(
            try Self.ordered(PurgeSummary(projectID: "p", filesRemoved: 4, bytesFreed: 5, recordsRemoved: 6))
                == #"{"project_id":"p","files_removed":4,"bytes_freed":5}"#
        )
    }

    @Test func repairSummary() throws {
        var summary = RepairSummary(dryRun: true)
        summary.recordsChecked = 1
        summary.filesChecked = 2
        summary.recordsCreated = 3
        summary.recordsRemoved = 4
        summary.recordsMarkedFailed = 5
        summary.failedThumbnailsRetried = 6
        summary.thumbnailsQueued = 7
        summary.orphanThumbnailsRemoved = 8
        summary.renditionsQueued = 9
        summary.spritesQueued = 10
        summary.orphanProcessedRemoved = 11
        summary.unreadableFiles = ["u"]
        summary.thumbnailAssetIDs = ["a1"]
        #expect(
            try Self.ordered(summary)
                == #"{"dry_run":true,"records_checked":1,"files_checked":2,"records_created":3,"records_removed":4,"records_marked_failed":5,"failed_thumbnails_retried":6,"thumbnails_queued":7,"orphan_thumbnails_removed":8,"renditions_queued":9,"sprites_queued":10,"orphan_processed_removed":11,"unreadable_files":["u"]}"#
        )
    }
}
