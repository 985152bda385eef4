# eventful images for docker-compose.yml.
#   target "eventful": Node 20 with the package built (runs simulate, extract, load, report)
#   target "airflow":  Apache Airflow 3 with Node 20, the package at /opt/eventful, and eventful-airflow (airflow/:
#                      the lag trigger and the DAGs' shared code) pip-installed into Airflow's Python

FROM node:20-bookworm AS eventful
RUN apt-get update \
 && apt-get install -y --no-install-recommends zlib1g-dev libssl-dev libzstd-dev libcurl4-openssl-dev liblz4-dev libsasl2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/eventful
COPY package.json package-lock.json ./
# The Kafka client builds its bundled librdkafka against the system libraries.
ENV CKJS_LINKING=dynamic
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schemas ./schemas
RUN npm run build && npm prune --omit=dev
ENTRYPOINT ["node"]

FROM apache/airflow:3.3.2 AS airflow
USER root
# librdkafka's runtime libraries (the client was linked dynamically) and Node 20 from the eventful stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libzstd1 libcurl4 liblz4-1 libsasl2-2 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=eventful /usr/local/bin/node /usr/local/bin/node
COPY --from=eventful --chown=airflow:root /opt/eventful /opt/eventful
COPY --chown=airflow:root dags /opt/airflow/dags
RUN mkdir -p /opt/airflow/eventful/snapshots && chown -R airflow:root /opt/airflow/eventful
USER airflow
# The triggerer imports KafkaLagTrigger by its classpath, and the DAG files import their shared code: both come from
# this package, installed where every Airflow component (DAG processor, scheduler, workers, triggerer) finds it.
# It has no dependencies, so pip leaves the image's Airflow as it is.
COPY --chown=airflow:root airflow /tmp/eventful-airflow
RUN pip install --no-cache-dir /tmp/eventful-airflow && rm -rf /tmp/eventful-airflow
